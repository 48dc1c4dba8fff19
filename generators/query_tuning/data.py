"""Curated rows for the query stage: one cell (taxonomy path, user group, country, language, modality)
and the message a person in that cell would send.

Written as YAML sources under `datasets/query_tuning/source/` (one file per domain, L2 topic ->
"<language> <country>" -> [L3 number, modality, tone, user group, query]); the L1 and the L3 term
come from the TaG's sources (`datasets/tag/source/`, the language's `ALL` variant), so both data
sets share one taxonomy. Compiled to `datasets/query_tuning/curated_queries.jsonl`. A row's request
is the build's own query prompt (`generators/prompts/query.yaml`, rendered with
`generators.queries.query_request_values`) and its target is the message, so an adapter learns the
exact request the build sends.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nodesynth_common.validation import validation_problem

from ..queries import MAX_CHARS, MAX_WORDS, MIN_WORDS, query_request_values
from ..records import content_id
from ..tag.data import REPO_ROOT, TagDataError
from ..tag.data import SOURCE_DIR as TAG_SOURCE_DIR
from ..voice_topic import assistant_voice

if TYPE_CHECKING:
    from inspect_ai.model import ChatMessage

    from ..llm import PromptTemplate

DATA_DIR = REPO_ROOT / "datasets" / "query_tuning"
CURATED_FILE = DATA_DIR / "curated_queries.jsonl"
SOURCE_DIR = DATA_DIR / "source"
TEMPLATE = "query"

Modality = Literal["text-to-text", "text-to-image", "text-to-video", "text-to-audio"]
Tone = Literal["neutral", "formal", "emotional", "aggressive", "casual", "curious"]
MODALITY_CODES: dict[str, Modality] = {
    "text": "text-to-text", "image": "text-to-image", "video": "text-to-video", "audio": "text-to-audio",
}
LANGUAGES = ("en", "es", "pt", "id")

# A first-person marker per language: the message is the person's own (Indonesian also by the -ku suffix).
FIRST_PERSON: dict[str, re.Pattern[str]] = {
    "en": re.compile(r"\b(i|i'm|i've|i'd|my|me|mine|we|our|us)\b", re.IGNORECASE),
    "es": re.compile(
        r"\b(yo|mi|mis|me|mí|mía|mío|conmigo|estoy|tengo|quiero|puedo|soy|necesito|nuestr[oa]s?|nos)\b|\w{3,}(me|é)\b", re.IGNORECASE
    ),
    "pt": re.compile(
        r"\b(eu|meu|minha|meus|minhas|me|mim|comigo|estou|tenho|quero|preciso|posso|vou|nós|nosso|nossa)\b|\w{3,}ei\b", re.IGNORECASE
    ),
    "id": re.compile(r"\b(saya|aku|kami|kita)\b|\w{2,}ku\b", re.IGNORECASE),
}


class QueryTuningError(TagDataError):
    """Curated query data that cannot be used; one sentence naming the file and place."""


class QueryRow(BaseModel):
    """One training example: a query cell and the message written for it."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    domain: str = Field(min_length=1)
    l1: str = Field(min_length=1)
    l2: str = Field(min_length=1)
    l3: str = Field(min_length=1)
    user_group: str = Field(min_length=1)
    country: str = "ALL"
    language: str = Field(pattern=r"^[a-z]{2}$")
    modality: Modality
    tone: Tone
    query: str = Field(min_length=1)
    source: str = ""

    @model_validator(mode="after")
    def _stable_id(self) -> QueryRow:
        if not self.id:
            self.id = "qry-" + content_id(
                self.domain.casefold(), self.l2.casefold(), self.country, self.language, self.query, length=12
            )
        return self

    @property
    def taxonomy_path(self) -> list[str]:
        """L1 > L2 > L3, as a build's `QueryRecord.taxonomy_path`."""
        return [self.l1, self.l2, self.l3]

    def request_values(self) -> dict[str, str]:
        country = None if self.country == "ALL" else self.country
        # a neutral row is asked with no tone sentence, as a spec without tones asks; the others as a spec with tones
        tone = None if self.tone == "neutral" else self.tone
        return query_request_values(self.user_group, self.taxonomy_path, country, self.language, self.modality, tone=tone)

    def messages(self) -> list[ChatMessage]:
        """The conversation the build's query stage sends for this cell (system, worked example, request)."""
        return _template().messages(reply_as=None, **self.request_values())

    def target(self) -> str:
        """The reply the query stage is trained to give: the message alone."""
        return self.query


@cache
def _template() -> PromptTemplate:
    from ..llm import PromptTemplate

    return PromptTemplate.load(TEMPLATE)


# --- checks -----------------------------------------------------------------------------


def row_problems(row: QueryRow) -> list[str]:
    """What makes a row unfit to teach the query stage; empty if none.

    The target must pass the build's own query parser (`parse_queries`: length, not the worked
    example, no assistant opener), must not read as an assistant (`assistant_voice`), must carry a
    first-person marker of its language, and must be identified as its language by py3langid.
    """
    from ..llm import ReplyError
    from ..queries import modality_framing, parse_queries

    problems: list[str] = []
    words = len(row.query.split())
    if not MIN_WORDS <= words <= MAX_WORDS or len(row.query) > MAX_CHARS:
        problems.append(f"{words} words / {len(row.query)} characters (the build keeps {MIN_WORDS}-{MAX_WORDS} words)")
    try:
        kept, dropped = parse_queries(row.query, want=1, example=modality_framing()[row.modality]["example"])
        if kept != [" ".join(row.query.split())]:
            problems.append("the build's parser does not return the message unchanged")
    except ReplyError as error:
        problems.append(f"the build's parser drops it: {error}")
    problems.extend(assistant_voice(row.query))
    pattern = FIRST_PERSON.get(row.language)
    if pattern is not None and not pattern.search(row.query):
        problems.append(f"no first-person marker of {row.language!r} (the message must be the person's own)")
    identified = identify_language(row.query)
    if identified != row.language:
        problems.append(f"identified as {identified!r}, not {row.language!r}")
    return problems


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES) + ["ms", "gl", "ca", "it", "fr"])  # close neighbours can win
    return identifier


def identify_language(text: str) -> str:
    """py3langid's best guess among the four languages and their close neighbours (Malay counts as id)."""
    language, _ = _identifier().classify(text)
    return "id" if language == "ms" else str(language)


# --- the curated sources ----------------------------------------------------------------


@cache
def tag_taxonomy(source_dir: Path = TAG_SOURCE_DIR) -> dict[tuple[str, str], tuple[str, dict[str, list[str]]]]:
    """(domain, L2) -> (L1, {language: the L3 term names of its `ALL` variant}) from the TaG sources."""
    import yaml

    found: dict[tuple[str, str], tuple[str, dict[str, list[str]]]] = {}
    for file in sorted(Path(source_dir).glob("*.yaml")):
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        for l1, topics in data["topics"].items():
            for l2, variants in topics.items():
                terms = {
                    str(variant).split(" ")[0]: [str(name) for name in entry if name != "why"]
                    for variant, entry in variants.items()
                    if str(variant).endswith(" ALL")
                }
                found[(data["domain"], l2)] = (l1, terms)
    return found


def compile_sources(source_dir: Path = SOURCE_DIR, *, check: bool = True) -> list[QueryRow]:
    """Read every `*.yaml` source into rows, checked; raises QueryTuningError naming file and row."""
    import yaml

    files = sorted(Path(source_dir).glob("*.yaml"))
    if not files:
        raise QueryTuningError(f"no *.yaml sources in {source_dir}.")
    taxonomy = tag_taxonomy()
    rows: list[QueryRow] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            data = yaml.load(file.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as error:
            raise QueryTuningError(f"{file} is not valid YAML: {str(error).splitlines()[0]}.") from error
        if not isinstance(data, dict) or "domain" not in data or "queries" not in data:
            raise QueryTuningError(f"{file} needs 'domain' and 'queries' keys.")
        domain = data["domain"]
        for l2, variants in data["queries"].items():
            if (domain, l2) not in taxonomy:
                raise QueryTuningError(f"{file.name}: {l2!r} is not an L2 topic of {domain!r} in the TaG sources.")
            l1, terms = taxonomy[(domain, l2)]
            for variant, entry in variants.items():
                where = f"{file.name}: {l2} > {variant}"
                language, _, country = str(variant).partition(" ")
                if not isinstance(entry, list) or len(entry) != 5:
                    raise QueryTuningError(f"{where}: expected [L3 number, modality, tone, user group, query].")
                number, modality, tone, group, query = entry
                names = terms.get(language, [])
                if not isinstance(number, int) or not 1 <= number <= len(names):
                    raise QueryTuningError(f"{where}: L3 number {number!r} is not 1-{len(names)}.")
                if modality not in MODALITY_CODES:
                    raise QueryTuningError(f"{where}: modality {modality!r} is not one of {', '.join(MODALITY_CODES)}.")
                try:
                    row = QueryRow(
                        domain=domain, l1=l1, l2=l2, l3=names[number - 1], user_group=str(group),
                        country=country or "ALL", language=language, modality=MODALITY_CODES[modality], tone=tone,
                        query=" ".join(str(query).split()), source=f"source/{file.name}",
                    )
                except ValidationError as error:
                    field, message = validation_problem(error)
                    raise QueryTuningError(f"{where}: {field}: {message}.") from error
                if check:
                    problems = row_problems(row)
                    if problems:
                        raise QueryTuningError(f"{where}: {problems[0]}.")
                if row.id in seen:
                    raise QueryTuningError(f"{where}: the same query is also in {seen[row.id]}.")
                seen[row.id] = where
                rows.append(row)
    return rows


def load_rows(path: Path = CURATED_FILE) -> list[QueryRow]:
    """Read the compiled JSONL; a bad line ends in QueryTuningError naming the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise QueryTuningError(f"cannot read {path}: {error.strerror or error}.") from error
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(QueryRow.model_validate_json(line))
            except ValidationError as error:
                raise QueryTuningError(f"{path} line {number}: {error.errors()[0]['msg']}.") from error
    return rows


def write_rows(path: Path, rows: Sequence[QueryRow]) -> None:
    """Write rows as JSONL (the TaG's atomic writer)."""
    from ..tag.data import write_rows as write_jsonl

    write_jsonl(path, rows)  # type: ignore[arg-type]  # any pydantic row with model_dump


def row_counts(rows: Sequence[QueryRow]) -> dict[str, dict[str, int]]:
    """Rows per domain, language, modality, tone and country, for the data card."""
    return {
        key: dict(sorted(Counter(str(getattr(row, key)) for row in rows).items()))
        for key in ("domain", "language", "modality", "tone", "country")
    }


def main() -> None:
    """`python -m generators.query_tuning.data`: compile the sources into the JSONL and print counts."""
    import json

    rows = compile_sources()
    write_rows(CURATED_FILE, rows)
    print(json.dumps({"rows": len(rows), **row_counts(rows)}, indent=1))


if __name__ == "__main__":
    main()
