"""The TaG's training rows: one L2 topic, in one country and language, with its 3 best L3 terms.

The curated rows are written as YAML sources under `datasets/tag/source/` (one file per domain,
nested L1 -> L2 -> "<language> <country>"), compiled to `datasets/tag/curated_l3.jsonl`, the
versioned file training reads. A row's request is rendered by the build's own L3 prompt
(`generators/prompts/l3_terms.yaml` via `generators.terms.term_request_values`) and its target is
the build's reply format, one `name: reason` line per term, so the TaG learns exactly what the
build asks of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nodesynth_common.errors import NodeSynthError

from ..records import content_id
from ..terms import TEMPLATE, term_request_values

if TYPE_CHECKING:
    from inspect_ai.model import ChatMessage

    from ..llm import PromptTemplate

TERMS_PER_ROW = 3
REPO_ROOT = Path(__file__).resolve().parents[2]
TAG_DATA_DIR = REPO_ROOT / "datasets" / "tag"
CURATED_FILE = TAG_DATA_DIR / "curated_l3.jsonl"
SOURCE_DIR = TAG_DATA_DIR / "source"

RowOrigin = Literal["curated", "reviewed"]


class TagDataError(NodeSynthError):
    """Training data that cannot be used; the message is one sentence naming the file and place."""


class TagTerm(BaseModel):
    """One L3 term and the short reason it belongs under its topic (both in the row's language)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    reason: str = ""


class TagRow(BaseModel):
    """One training example: the request's inputs and the three terms a reviewer stands behind."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    domain: str = Field(min_length=1)
    definition: str = ""
    l1: str = Field(min_length=1)
    l2: str = Field(min_length=1)
    country: str = "ALL"
    language: str = Field("en", pattern=r"^[a-z]{2}$")
    terms: list[TagTerm] = Field(min_length=TERMS_PER_ROW, max_length=TERMS_PER_ROW)
    rationale: str = ""
    origin: RowOrigin = "curated"
    source: str = ""

    @model_validator(mode="after")
    def _stable_id(self) -> TagRow:
        if not self.id:
            self.id = self.make_id(self.domain, self.l1, self.l2, self.country, self.language)
        return self

    @staticmethod
    def make_id(domain: str, l1: str, l2: str, country: str, language: str) -> str:
        """The same topic in the same country and language is the same row, whoever wrote it."""
        return "tag-" + content_id(domain.casefold(), l1.casefold(), l2.casefold(), country, language, length=12)

    def request_values(self) -> dict[str, Any]:
        return {**term_request_values(self.domain, self.l1, self.l2, self.country, self.language), "n": TERMS_PER_ROW}

    def messages(self) -> list[ChatMessage]:
        """The conversation the build sends for this topic (system, worked example, request)."""
        return _template().messages(**self.request_values())

    def target(self) -> str:
        """The reply the TaG is trained to give: the build's `name: reason` lines."""
        return "\n".join(f"{term.name}: {term.reason}" if term.reason else f"{term.name}:" for term in self.terms)

    @property
    def term_names(self) -> list[str]:
        return [term.name for term in self.terms]


@lru_cache(maxsize=1)
def _template() -> PromptTemplate:
    """The build's L3 prompt, read once per process (it is rendered for every row)."""
    from ..llm import PromptTemplate

    return PromptTemplate.load(TEMPLATE)


# --- checks -----------------------------------------------------------------------------


def row_problems(row: TagRow) -> list[str]:
    """What would stop the build from accepting this row's target as a reply; empty if none.

    The target goes through the build's own parser and checks (`parse_items`, `check_items`):
    a training target the build would reject (a restated parent, a copied worked example, an
    overlong name) would teach the TaG to write rejects.
    """
    from ..llm import ReplyError, parse_items
    from ..stage import check_items

    template = _template()
    problems: list[str] = []
    parsed = parse_items(row.target())
    if [name for name, _ in parsed] != row.term_names:
        problems.append("the terms do not survive the build's 'name: reason' parser (a ':' or ' - ' inside a name?)")
    try:
        checked = check_items(
            parsed,
            want=TERMS_PER_ROW,
            avoid={row.domain, row.l1, row.l2},
            example_lines=template.example_lines(**row.request_values()),
        )
        problems.extend(f"term {name!r}: {why}" for name, why in checked.dropped)
    except ReplyError as error:
        problems.append(str(error))
    return problems


# --- reading and writing ----------------------------------------------------------------


def load_rows(path: Path) -> list[TagRow]:
    """Read a JSONL file of rows; a bad line ends in TagDataError naming the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise TagDataError(f"cannot read training data {path}: {error.strerror or error}.") from error
    rows: list[TagRow] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(TagRow.model_validate_json(line))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "row"
            raise TagDataError(f"{path} line {number}, field {where}: {first['msg']}.") from error
    if not rows:
        raise TagDataError(f"training data {path} has no rows.")
    return rows


def write_rows(path: Path, rows: Iterable[TagRow]) -> None:
    """Write rows as JSONL atomically (a temp file beside it, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row.model_dump(), ensure_ascii=False) + "\n" for row in rows)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, 0o644)  # mkstemp creates files private to the user; this is a shared data file
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- the curated sources ----------------------------------------------------------------


def compile_sources(source_dir: Path = SOURCE_DIR) -> list[TagRow]:
    """Read every `*.yaml` source into rows, checked; raises TagDataError naming file and row.

    A source is `domain`, `definition` and `topics`: {L1: {L2: {"<lang> <country>": {why:
    rationale, <term>: <reason>, ...}}}}, which keeps a topic's variants side by side for the
    writer and the reviewer.
    """
    import yaml

    files = sorted(Path(source_dir).glob("*.yaml"))
    if not files:
        raise TagDataError(f"no *.yaml sources in {source_dir}.")
    rows: list[TagRow] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            # the C loader when libyaml is present: the pure-Python one takes seconds on these files
            data = yaml.load(file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as error:
            raise TagDataError(f"{file} is not valid YAML: {str(error).splitlines()[0]}.") from error
        for key in ("domain", "definition", "topics"):
            if not isinstance(data, dict) or key not in data:
                raise TagDataError(f"{file} has no {key!r} key.")
        for l1, topics in data["topics"].items():
            for l2, variants in topics.items():
                for variant, entry in variants.items():
                    where = f"{file.name}: {l1} > {l2} > {variant}"
                    language, _, country = str(variant).partition(" ")
                    if not isinstance(entry, dict) or "why" not in entry:
                        raise TagDataError(f"{where}: expected a mapping with 'why' and {TERMS_PER_ROW} terms.")
                    terms = [TagTerm(name=str(name), reason=str(reason)) for name, reason in entry.items() if name != "why"]
                    try:
                        row = TagRow(
                            domain=data["domain"],
                            definition=" ".join(str(data["definition"]).split()),
                            l1=l1,
                            l2=l2,
                            country=country or "ALL",
                            language=language,
                            terms=terms,
                            rationale=str(entry["why"]),
                            source=f"source/{file.name}",
                        )
                    except ValidationError as error:
                        first = error.errors()[0]
                        raise TagDataError(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}.") from error
                    problems = row_problems(row)
                    if problems:
                        raise TagDataError(f"{where}: {problems[0]}.")
                    if row.id in seen:
                        raise TagDataError(f"{where}: the same topic, country and language is also in {seen[row.id]}.")
                    seen[row.id] = where
                    rows.append(row)
    return rows


# --- the split --------------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    train: list[TagRow]
    held_out: list[TagRow]


def split_rows(rows: Sequence[TagRow], seed: int = 0, held_out: float = 0.1) -> Split:
    """A deterministic train / held-out split, stratified by language.

    Rows are ordered by id (not file order) before a seeded shuffle, so the split depends only
    on the rows and the seed. Stratifying keeps every language in the held-out set, so the
    per-language figures exist; each language with two or more rows holds out at least one.
    """
    by_language: dict[str, list[TagRow]] = {}
    for row in sorted(rows, key=lambda row: row.id):
        by_language.setdefault(row.language, []).append(row)
    train: list[TagRow] = []
    test: list[TagRow] = []
    for language, group in sorted(by_language.items()):
        order = list(group)
        random.Random(f"{seed}:{language}").shuffle(order)
        take = min(len(order) - 1, max(1, round(len(order) * held_out))) if len(order) > 1 else 0
        test.extend(order[:take])
        train.extend(order[take:])
    return Split(train=train, held_out=test)


def row_counts(rows: Sequence[TagRow]) -> dict[str, dict[str, int]]:
    """Rows per domain, language, country and (language, country), for the data card."""
    return {
        "domain": dict(sorted(Counter(row.domain for row in rows).items())),
        "language": dict(sorted(Counter(row.language for row in rows).items())),
        "country": dict(sorted(Counter(row.country for row in rows).items())),
        "language_country": dict(sorted(Counter(f"{row.language} {row.country}" for row in rows).items())),
    }


# --- the data card ------------------------------------------------------------------------

CARD_START = "<!-- tag-counts:start (written by `nodesynth tag compile`) -->"
CARD_END = "<!-- tag-counts:end -->"


def counts_markdown(rows: Sequence[TagRow], sha256: str) -> str:
    """The data card's counts section: rows per domain, language and language-country, and the hash."""
    counts = row_counts(rows)
    lines = [f"`curated_l3.jsonl`: **{len(rows)} rows**, sha256 `{sha256}`.", ""]
    lines += ["| domain | rows |", "|---|---|"] + [f"| {k} | {v} |" for k, v in counts["domain"].items()] + [""]
    lines += ["| language | rows |", "|---|---|"] + [f"| {k} | {v} |" for k, v in counts["language"].items()] + [""]
    lines += ["| language, country | rows |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in counts["language_country"].items()]
    return "\n".join(lines)


def update_card_counts(readme: Path, rows: Sequence[TagRow], sha256: str) -> None:
    """Replace the counts section of the data card (between its markers) with fresh counts."""
    text = Path(readme).read_text(encoding="utf-8") if Path(readme).is_file() else ""
    block = f"{CARD_START}\n{counts_markdown(rows, sha256)}\n{CARD_END}"
    start, end = text.find(CARD_START), text.find(CARD_END)
    if start >= 0 and end > start:
        text = text[:start] + block + text[end + len(CARD_END) :]
    else:
        text = text.rstrip() + ("\n\n" if text else "") + "## Counts\n\n" + block + "\n"
    Path(readme).write_text(text, encoding="utf-8")
