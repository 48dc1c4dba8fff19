"""Extraction: the extractor model reads retrieved passages and names who they say is affected.

For one taxonomy node (its L2 topic, with the L3 terms in context) the model returns
occupations, demographics and countries, each with the quote that supports it and the id of
the passage it came from. Three wire formats are accepted, whatever the prompt asked for:

- `type | item | quote | source` lines (the full format, asked of capable models);
- a JSON list of objects with those keys (for models that prefer JSON);
- `item: quote` lines (the compact format, asked of the embedded 135M model, which ignored the
  full format in trials here but follows this one): the kind is inferred — a country if pycountry
  knows the name, an occupation if its head noun is a job, else a demographic — and the source is
  the passage the quote is found in.

Nothing is trusted here: verification comes next.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Literal

from inspect_ai.model import Model
from pydantic import BaseModel, Field, ValidationError, field_validator

from ..llm import CallResult, PromptTemplate, ReplyError, generate_validated, json_payload
from .corpus import Passage
from .normalise import clean_phrase, content_words, normalise_country
from .untrusted import fence

ItemKind = Literal["occupation", "demographic", "country"]

# How models write the type column; anything else is not an item.
KIND_WORDS: dict[str, ItemKind] = {
    "occupation": "occupation", "occupations": "occupation", "job": "occupation", "profession": "occupation",
    "worker": "occupation", "workers": "occupation",
    "demographic": "demographic", "demographics": "demographic", "group": "demographic",
    "population": "demographic", "people": "demographic",
    "country": "country", "countries": "country", "nation": "country",
}
MAX_ITEM_WORDS = 6
# Head nouns that make an item an occupation in the compact format (singular, lower case).
OCCUPATION_HEADS = {
    "worker", "nurse", "doctor", "physician", "pharmacist", "midwife", "teacher", "farmer", "journalist",
    "official", "officer", "police", "soldier", "lawyer", "judge", "engineer", "driver", "vendor", "trader",
    "shopkeeper", "clinician", "surgeon", "dentist", "therapist", "counsellor", "counselor", "researcher",
    "scientist", "staff", "employee", "labourer", "laborer", "miner", "fisher", "fisherman", "veterinarian",
    "professional", "practitioner", "administrator", "manager", "politician", "candidate", "volunteer",
    "entrepreneur", "seller", "banker", "accountant", "broker", "advisor", "adviser", "lender", "recruiter",
    "moderator", "developer", "cleaner", "cook", "housekeeper", "nanny", "maid", "agent", "provider",
    "educator", "lecturer", "professor", "principal", "caregiver", "carer", "pilot", "guard", "firefighter",
}
_NONE_REPLY = re.compile(r"^\s*(?:none|no one|nobody|n/a)\.?\s*$", re.IGNORECASE)
_ITEM_TEXT = re.compile(r"^\w[\w\s'’().,&/-]*$")
_LABEL = re.compile(r"^\s*\[?\s*(?:passage\s*|p\s*)?(\d{1,2})\s*\]?\s*$", re.IGNORECASE)


class ExtractedItem(BaseModel):
    """One claim of the extractor: this kind of person or place is affected, says this quote."""

    kind: ItemKind
    item: str = Field(min_length=1, max_length=80)
    quote: str = Field(min_length=1, max_length=500)
    source: str | None = Field(None, description="the passage label the model gave (P1, P2, ...)")

    @field_validator("item")
    @classmethod
    def _short_item(cls, value: str) -> str:
        value = " ".join(value.split()).strip("\"'`*")
        if not _ITEM_TEXT.match(value):
            raise ValueError("an item is a short name in words (no markup or JSON)")
        if len(value.split()) > MAX_ITEM_WORDS:
            raise ValueError(f"item longer than {MAX_ITEM_WORDS} words")
        return value

    @field_validator("quote")
    @classmethod
    def _tidy_quote(cls, value: str) -> str:
        return " ".join(value.split()).strip("\"'“”`*")


@dataclass
class ParsedReply:
    items: list[ExtractedItem]
    dropped: list[tuple[str, str]] = field(default_factory=list)  # (line, why)


def parse_extraction(reply: str) -> ParsedReply:
    """Parse an extraction reply into validated items; raise ReplyError if it has none and is not 'none'."""
    if _NONE_REPLY.match(reply.strip() or "x"):
        return ParsedReply(items=[])
    rows = _json_rows(reply)
    if rows is None:
        lines = [re.sub(r"^\s*(?:\d{1,2}\s*[.)]|[-*•])\s*", "", line.replace("**", "")).strip() for line in reply.splitlines()]
        rows = [_pipe_row(line) for line in lines if "|" in line]
        if not rows:  # the compact format; prose around the list is not an item (and not an error)
            rows = [row for row in (_colon_row(line) for line in lines) if row is not None]
    items: list[ExtractedItem] = []
    dropped: list[tuple[str, str]] = []
    for row in rows:
        line = str(row.pop("line", "")) or json.dumps(row, ensure_ascii=False)
        kind = KIND_WORDS.get(clean_phrase(str(row.get("kind") or "")))
        if kind is None:
            dropped.append((line, f"unknown type {row.get('kind')!r} (use occupation, demographic or country)"))
            continue
        if row.get("item") is None or row.get("quote") is None:
            dropped.append((line, "not 'type | item | quote | source'"))
            continue
        try:
            items.append(ExtractedItem.model_validate({**row, "kind": kind}))
        except ValidationError as error:
            first = error.errors()[0]
            dropped.append((line, f"{'.'.join(map(str, first['loc']))}: {first['msg'].removeprefix('Value error, ')}"))
    if not items:
        reasons = "; ".join(sorted({why for _, why in dropped})) or "no 'who: quote' or 'type | item | quote | source' lines"
        raise ReplyError(
            f"no usable items ({reasons}). Write one line per affected group, in the format of the example, "
            "with words copied exactly from a passage, or reply: none."
        )
    return ParsedReply(items=items, dropped=dropped)


def _pipe_row(line: str) -> dict[str, object]:
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    row: dict[str, object] = {"line": line, "kind": cells[0]}
    if len(cells) >= 3:
        row.update(item=cells[1], quote=cells[2], source=cells[3] if len(cells) > 3 else None)
    return row


def _colon_row(line: str) -> dict[str, object] | None:
    item, sep, quote = line.partition(":")
    if not sep or not item.strip() or not quote.strip():
        return None
    return {"line": line, "kind": infer_kind(item), "item": item.strip(), "quote": quote.strip(), "source": None}


def infer_kind(item: str) -> ItemKind:
    """The kind of a compact-format item: a country pycountry knows, an occupation by its head noun, else a demographic."""
    if normalise_country(item) is not None:
        return "country"
    words = content_words(item)
    return "occupation" if words and words[-1] in OCCUPATION_HEADS else "demographic"


def _json_rows(reply: str) -> list[dict[str, object]] | None:
    payload = json_payload(reply, list_keys=("items", "evidence", "results"))
    if not isinstance(payload, list):
        return None
    rows = []
    for entry in payload:
        if isinstance(entry, dict):
            rows.append(
                {
                    "kind": entry.get("type") or entry.get("kind"),
                    "item": entry.get("item") or entry.get("name"),
                    "quote": entry.get("quote"),
                    "source": entry.get("source") or entry.get("passage"),
                }
            )
    return rows


def passage_label(text: str | None, labels: list[str]) -> str | None:
    """The passage label a model meant ('P1', 'p1', '[P1]', 'passage 1', '1'), or None."""
    if not text:
        return None
    match = _LABEL.match(text)
    if match:
        label = f"P{int(match.group(1))}"
        return label if label in labels else None
    return None


@dataclass
class Extraction:
    """One node's extraction: the passages shown (by label), the items claimed and the raw reply."""

    passages: dict[str, Passage]
    items: list[ExtractedItem]
    dropped: list[tuple[str, str]]
    call: CallResult[ParsedReply]


async def extract(
    model: Model, *, topic_path: str, country: str, passages: list[Passage], compact: bool = False, max_tokens: int = 220
) -> Extraction:
    """One validated extraction call over `passages` (labelled P1..Pn in the prompt).

    `compact` asks for the `item: quote` format (for small models) instead of the full one.
    """
    template = PromptTemplate.load("evidence_extract_compact" if compact else "evidence_extract")
    labelled = {f"P{i}": passage for i, passage in enumerate(passages, start=1)}
    values = {
        "topic_path": topic_path,
        "country_clause": "" if country == "ALL" else f" Country: {country}.",
        "passages": "\n".join(fence(label, passage) for label, passage in labelled.items()),
    }
    result = await generate_validated(
        model, template.messages(**values), parse_extraction, max_tokens=max_tokens, stop_seqs=["<|im_end|>"], stage="evidence"
    )
    parsed = result.value
    return Extraction(
        passages=labelled,
        items=parsed.items if parsed else [],
        dropped=parsed.dropped if parsed else [],
        call=result,
    )
