"""Import a CSV released by the NodeSynth authors (google-research/nodesynth) as a dataset directory.

The release (`NodeSynth_Data_*_Full_Export.csv`) has one row per generated query with the columns
index, Domain, level1, prompts, level2, level3, user_group, extracted_occupations,
extracted_Demographics, extracted_Country, user_case, model_modality, paper_content, url, tone.
List-valued cells are Python-literal strings ("['Ghana', 'Norway']") and some cells are raw model
text, so every cell is read defensively:

- list cells are parsed with `ast.literal_eval` only (never `eval`); a cell that is not a list
  literal falls back to plain text and the fallback is counted and written to the manifest notes;
- rows whose prompt is not a query (empty, a stray markdown rule, a model preamble, a metadata
  cell pasted into the prompt column) become rejects with a reason, as do duplicate queries, so
  `queries + rejects == rows` always holds: nothing disappears silently;
- evidence keeps only what the release supports: a paper title when it can be attributed to one
  URL, and a quote only when the release carries a verbatim quoted sentence; nothing is invented.

The result is written through `artifact.write_dataset`, so an imported dataset is read by the same
loaders as a built one.
"""

from __future__ import annotations

from nodesynth_common.errors import NodeSynthError
import ast
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import pandas as pd
import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..artifact import MANIFEST, new_build_id, new_canary, package_versions, sha256_file, utc_now, write_dataset
from ..records import (
    Evidence,
    EvidenceQuote,
    EvidenceRef,
    Manifest,
    Modality,
    QueryRecord,
    Reject,
    Source,
    Taxonomy,
    TaxonomyNode,
    content_id,
)
from ..quality import apply_quality_gates
from ..spec import DomainSpec, QualitySpec

SOURCE_TAG = "import:nodesynth-csv"
MODELS = {"source": "nodesynth-release"}
STAGE = "import"
LANGUAGE = "en"  # the release is English only; it has no language column

# Without these the file cannot be turned into queries placed in a taxonomy.
REQUIRED_COLUMNS = ("Domain", "level1", "level2", "prompts")
# Without these a query loses detail but is still usable; a missing one is noted in the manifest.
OPTIONAL_COLUMNS = (
    "index",
    "level3",
    "user_group",
    "extracted_occupations",
    "extracted_Demographics",
    "extracted_Country",
    "user_case",
    "model_modality",
    "paper_content",
    "url",
    "tone",
)

# DomainSpec.name's pattern: the synthesised spec.yaml must load with `load_spec`.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")

# Values the release's extraction step writes when it found nothing; they are not data.
PLACEHOLDERS = frozenset(
    {
        "n/a", "na", "n.a", "none", "null", "nan", "nil", "unknown", "unspecified", "not specified",
        "not applicable", "not available", "not mentioned", "not stated", "not reported",
        "not provided", "various", "-", "--", "?",
    }
)
PLACEHOLDER_PREFIXES = ("not specified", "not mentioned", "not stated", "not reported", "none specified")

# An L3 cell longer than this, or spread over lines, is raw model output rather than keyterms
# (the authors' medical xlsx has such cells); it cannot be a node label.
MAX_L3_CHARS = 300
MAX_L3_TERMS = 10

_WORD = re.compile(r"[^\W_]+")
_URL = re.compile(r"(?:https?://|www\.)[^\s'\"<>\]\[,]+", re.IGNORECASE)
# "Title: X", "**Title:** \"X\"", "*   **Title**: X" in paper_content fragments
_TITLE = re.compile(r"^[\s;*•\-]*\**\s*title\s*\**\s*:\s*\**\s*(?P<title>.+)$", re.IGNORECASE)
# some fragments run the fields together: "Title: X Occupation: Y Demographics: Z"
_NEXT_FIELD = re.compile(r"\s+\**(?:occupations?|demographics?|country|countries)\**\s*:", re.IGNORECASE)
_FIELD_LINE = re.compile(r"^[\s;*•\-]*\**\s*(?:occupations?|demographics?|country|countries|paper)\b", re.IGNORECASE)
# the paper's country as the release's own summary states it ("Country: Ghana", "**Country:** ...")
_COUNTRY_FIELD = re.compile(r"(?:^|[\s;*])\**countr(?:y|ies)\**\s*:\s*\**\s*(?P<value>.+)", re.IGNORECASE)
# a sentence the model quoted from the paper: it ends with a full stop inside closing quotes
_QUOTED_SENTENCE = re.compile(r"[.!?][\"”]\s*$")
MIN_QUOTE_WORDS = 8
QUOTE_JOINER = " […] "  # quoted sentences are not contiguous in the paper; say so

_MEDIA = {
    "text": "text", "txt": "text", "chat": "text",
    "image": "image", "images": "image", "img": "image", "picture": "image", "photo": "image",
    "video": "video", "videos": "video", "vid": "video",
    "audio": "audio", "speech": "audio", "sound": "audio",
}
_MEDIA_SHORT = {"t2t": "text", "t2i": "image", "t2v": "video", "t2a": "audio"}


class ReleaseImportError(NodeSynthError):
    """A file the importer cannot use; the message is one sentence naming the file (and column)."""


class ImportResult(BaseModel):
    """What an import wrote, with the figures a user wants to see printed."""

    model_config = ConfigDict(extra="forbid")

    manifest: Manifest
    out_dir: Path
    rows: int
    imported: int
    rejected: int
    rejected_by_reason: dict[str, int]
    parse_fallbacks: int
    fallbacks_by_column: dict[str, int]
    depth_counts: dict[int, int]


# --------------------------------------------------------------------------------------------
# cell parsing


class _NotLiteral:
    """Sentinel: the cell is not a Python literal at all."""


_NOT_LITERAL = _NotLiteral()


def _squash(value: object) -> str:
    """Collapse runs of whitespace (the cells carry newlines and double spaces from model text)."""
    return " ".join(str(value).split())


def _clean_item(value: object) -> str:
    """One list item as clean text: no stray quotes, bullets or separators at either end."""
    return _squash(value).strip(" \t\"'“”‘’*•;,")


def is_placeholder(text: str) -> bool:
    """True for empty cells and the 'not specified' kind of filler, which carry no information."""
    key = re.sub(r"[\s.;:,!]+$", "", text.casefold()).strip()
    if not _WORD.search(key):
        return True
    return key in PLACEHOLDERS or key.startswith(PLACEHOLDER_PREFIXES)


def dedupe(items: Iterable[str]) -> list[str]:
    """Drop repeats (case-insensitively), keeping the first spelling and the order."""
    seen: set[str] = set()
    kept: list[str] = []
    for item in items:
        key = item.casefold()
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _flatten(value: Any, depth: int = 0) -> list[Any]:
    if isinstance(value, (list, tuple)) and depth < 4:
        return [leaf for item in value for leaf in _flatten(item, depth + 1)]
    return [value]


def parse_list_cell(raw: str, *, plain_separators: str = r"[;\n]") -> tuple[list[str], str | None]:
    """Read a list-valued cell; returns (items, what fell back or None).

    `ast.literal_eval` only evaluates literals, so a cell holding code is a parse error here and
    is then read as text, never run. Items are returned raw (not yet cleaned or deduplicated), so
    callers can still count repeats, e.g. of a country.
    """
    text = raw.strip()
    if not text:
        return [], None
    try:
        value: Any = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = _NOT_LITERAL
    if isinstance(value, (list, tuple)):
        return [str(item) for item in _flatten(value) if item is not None], None
    if isinstance(value, str):
        return [value], "a string literal, not a list; read as one item"
    if not isinstance(value, _NotLiteral):
        return [text], f"a {type(value).__name__} literal, not a list; read as text"
    if text.startswith("["):
        # a list literal cut short or with a stray quote: keep the items that are still quoted
        quoted = re.findall(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"", text)
        items = [single or double for single, double in quoted]
        if items:
            return items, "a broken list literal; its quoted items were kept"
        return text.strip("[]").split(","), "a broken list literal; split on commas"
    # Plain text: semicolons and newlines separate items in the release's own text, commas do not
    # reliably ("Jewish and Roma peoples, Yazidi" vs "Korea, Republic of"), so commas are kept.
    return re.split(plain_separators, text), "not a list literal; read as plain text"


def clean_list(items: Iterable[str]) -> list[str]:
    """Clean items, drop empties and placeholders, keep order; repeats are kept (see dedupe)."""
    cleaned = (_clean_item(item) for item in items)
    return [item for item in cleaned if not is_placeholder(item)]


def most_frequent(items: list[str]) -> str | None:
    """The most frequent item (case-insensitively); ties go to the one listed first."""
    if not items:
        return None
    counts = Counter(item.casefold() for item in items)
    best = max(counts.values())
    return next(item for item in items if counts[item.casefold()] == best)


def clean_label(raw: str) -> str:
    """A taxonomy or user-group label without the export's artefacts.

    The release has "Researchers;" beside "Researchers", "Rituals , Traditional crafts" and the
    truncated "conflict)"; left alone these would split one node or group into two.
    """
    text = _squash(raw)
    text = re.sub(r"\s+([,;:)\]])", r"\1", text)
    text = text.strip(" ;,:'\"*“”")
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip(" ;,:")
    while text.startswith("(") and text.count("(") > text.count(")"):
        text = text[1:].lstrip()
    return text


def l3_terms(raw: str) -> tuple[list[str], str | None]:
    """The L3 keyterms of a level3 cell ("Lifestyle, Genetics, Environment"), or why there are none."""
    text = raw.strip()
    if not text:
        return [], None
    if "\n" in text or len(text) > MAX_L3_CHARS:
        return [], "level3 is raw model output, not keyterms; the row is imported at depth 2"
    try:
        value: Any = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = _NOT_LITERAL
    parts = [str(item) for item in _flatten(value)] if isinstance(value, (list, tuple)) else re.split(r"[,;]", text)
    terms = dedupe(term for term in (clean_label(part) for part in parts) if not is_placeholder(term))
    if len(terms) > MAX_L3_TERMS:
        return [], f"level3 has {len(terms)} terms, not a keyterm set; the row is imported at depth 2"
    return terms, None


def normalise_modality(raw: str) -> tuple[str, str | None]:
    """'text-to-image' and friends ('Text to Image', 'text2image', 't2i', 'image'), or why not."""
    text = raw.strip().casefold()
    if not text:
        return "text-to-text", "empty; text-to-text assumed"
    compact = re.sub(r"[^a-z0-9]", "", text)
    if compact in _MEDIA_SHORT:
        return f"text-to-{_MEDIA_SHORT[compact]}", None
    media = [_MEDIA[word] for word in re.findall(r"[a-z]+", text) if word in _MEDIA]
    if not media:
        return _squash(raw), "not a modality this project knows; kept as written"
    # "text to image": the medium named last is the one the model must produce
    return f"text-to-{media[-1]}", None


def _fragments_lines(fragments: list[str]) -> list[str]:
    return [line for fragment in fragments for line in str(fragment).splitlines() if line.strip()]


def recover_titles(fragments: list[str]) -> list[str]:
    """Paper titles the release's paper_content states with a 'Title:' field (none are guessed)."""
    titles: list[str] = []
    for line in _fragments_lines(fragments):
        match = _TITLE.match(line)
        if match is None:
            continue
        title = _NEXT_FIELD.split(match.group("title"), maxsplit=1)[0]
        title = _clean_item(title.replace("**", ""))
        if len(title) >= 3:
            titles.append(title)
    return dedupe(titles)


def recover_quotes(fragments: list[str]) -> list[str]:
    """Sentences the release quotes verbatim from the paper (a full sentence closed by a quote mark).

    Most rows only carry the extraction summary (Title/Occupation/Demographics/Country), which is
    not a quote; the model's own reasoning never ends in a quoted full stop, so it is skipped.
    """
    quotes: list[str] = []
    for line in _fragments_lines(fragments):
        text = line.strip()
        if not _QUOTED_SENTENCE.search(text) or _TITLE.match(text) or _FIELD_LINE.match(text):
            continue
        text = _squash(text).strip(" \"“”*")
        if len(text.split()) >= MIN_QUOTE_WORDS:
            quotes.append(text)
    return dedupe(quotes)


def paper_countries_text(fragments: list[str]) -> str:
    """The 'Country:' fields of paper_content, as one lower-case string ('' when there are none)."""
    found = (_COUNTRY_FIELD.search(line) for line in _fragments_lines(fragments))
    return " | ".join(match.group("value") for match in found if match).casefold()


def recover_urls(items: list[str]) -> list[str]:
    """URLs from the url cell's items (an item may hold several, or none)."""
    urls: list[str] = []
    for item in items:
        for url in _URL.findall(item):
            url = url.rstrip(".;")
            # a ")" closing the sentence around a URL is not part of it; "/Foo_(bar)" keeps its own
            while url.endswith(")") and url.count(")") > url.count("("):
                url = url[:-1].rstrip(".;")
            urls.append(url)
    return dedupe(urls)


# --------------------------------------------------------------------------------------------
# reading the file


def _read_csv(csv_path: Path) -> pd.DataFrame:
    if not csv_path.exists():
        raise ReleaseImportError(f"{csv_path}: no such file.")
    if not csv_path.is_file():
        raise ReleaseImportError(f"{csv_path}: not a file (a CSV export of NodeSynth queries is expected).")
    try:
        # every cell as text: pandas must not turn "NA" or "None" into NaN or "1" into an int
        # index_col=False: a row with extra cells must not silently become the index and shift
        # every column; pandas warns instead, and the warning is turned into an error here
        with warnings.catch_warnings():
            warnings.simplefilter("error", category=pd.errors.ParserWarning)
            frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False)
    except pd.errors.ParserWarning:
        raise ReleaseImportError(f"{csv_path}: a row has more cells than the header has columns (is a cell missing its quotes?).") from None
    except pd.errors.EmptyDataError:
        raise ReleaseImportError(f"{csv_path}: the file is empty, not a CSV with a header row.") from None
    except UnicodeDecodeError:
        raise ReleaseImportError(f"{csv_path}: not a UTF-8 text CSV (is it a spreadsheet or a binary file?).") from None
    except (pd.errors.ParserError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ReleaseImportError(f"{csv_path}: not a readable CSV ({first}).") from None
    except OSError as error:
        raise ReleaseImportError(f"{csv_path}: cannot read the file ({error.strerror or error}).") from None
    # a short row leaves NaN in its missing cells even with keep_default_na=False; those cells are empty
    return frame.fillna("")


def _canonical_columns(frame: pd.DataFrame, csv_path: Path) -> tuple[pd.DataFrame, list[str]]:
    """Rename columns to the release's spelling (matching is case-insensitive); check the required ones."""
    by_key = {str(column).strip().casefold(): column for column in frame.columns}
    renames: dict[str, str] = {}
    for column in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS):
        found = by_key.get(column.casefold())
        if found is not None:
            renames[found] = column
    for column in REQUIRED_COLUMNS:
        if column not in renames.values():
            raise ReleaseImportError(
                f"{csv_path}: required column '{column}' is missing "
                f"(found: {', '.join(map(str, frame.columns[:15])) or 'none'})."
            )
    frame = frame.rename(columns=renames)
    missing_optional = [column for column in OPTIONAL_COLUMNS if column not in frame.columns]
    for column in missing_optional:
        frame[column] = ""
    return frame, missing_optional


def _single_domain(frame: pd.DataFrame, csv_path: Path) -> str:
    domains = dedupe(d for d in (_squash(v) for v in frame["Domain"]) if d)
    if not domains:
        raise ReleaseImportError(f"{csv_path}: column 'Domain' is empty in every row.")
    if len(domains[0]) < 2:
        raise ReleaseImportError(f"{csv_path}: column 'Domain' holds {domains[0]!r}, too short to name a domain.")
    if len(domains) > 1:
        shown = ", ".join(repr(d) for d in domains[:4])
        raise ReleaseImportError(f"{csv_path}: column 'Domain' holds {len(domains)} domains ({shown}); import one domain per file.")
    return domains[0]


# --------------------------------------------------------------------------------------------
# the import


@dataclass
class _Fallback:
    column: str
    row: int | str
    what: str


@dataclass
class _EvidenceAcc:
    """Evidence for one (node, source), gathered over the rows that cite it."""

    node_id: str
    source: Source
    quotes: list[str] = field(default_factory=list)
    occupations: list[str] = field(default_factory=list)
    demographics: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)

    def to_record(self) -> Evidence:
        quotes: list[EvidenceQuote] = []
        text = QUOTE_JOINER.join(dedupe(self.quotes))
        if text:  # no quote in the release: no quote here (the lists alone are not a quote)
            quotes.append(
                EvidenceQuote(
                    text=text,
                    occupations=dedupe(self.occupations),
                    demographics=dedupe(self.demographics),
                    countries=dedupe(self.countries),
                )
            )
        return Evidence(node_id=self.node_id, source=self.source, quotes=quotes)


def _row_label(raw: str, position: int) -> int | str:
    """The release's own row index for rejects and notes (the CSV position when it has none)."""
    text = raw.strip()
    if not text:
        return position
    return int(text) if text.isdigit() else text


def _prompt_problem(prompt: str, metadata: str) -> tuple[str, str] | None:
    """Why a prompt cell is not a query, as (code, reason), or None when it is one."""
    if not prompt:
        return "empty_prompt", "empty prompt"
    words = {word.casefold() for word in _WORD.findall(prompt)}
    if not words:
        return "no_words", "prompt has no words (e.g. a stray markdown rule)"
    if prompt.endswith(":"):
        # the generator's preamble ("... the keyterms are:") exported as if it were a query
        return "model_preamble", "prompt is a model preamble ending in ':', not a query"
    if words <= {word.casefold() for word in _WORD.findall(metadata)}:
        # every word already appears in the row's own metadata: a pasted occupation, demographic
        # or country cell ("Patients", "37 European countries, ...") rather than a query
        return "metadata_fragment", "prompt only repeats the row's metadata cells, not a query"
    return None


def _spec_yaml(
    name: str,
    domain: str,
    csv_name: str,
    definition: str,
    countries: list[str],
    modalities: list[str],
    use_case: str | None,
) -> str:
    """A spec describing the import, loadable by `load_spec` (countries it cannot look up go in a comment)."""
    known: dict[str, str] = {}  # canonical name -> first spelling in the data ("USA", "United States")
    unknown: list[str] = []
    for country in countries:
        try:
            known.setdefault(pycountry.countries.lookup(country).name, country)
        except LookupError:
            unknown.append(country)
    data: dict[str, Any] = {
        "name": name,
        "domain": domain,
        "definition": definition,
        "countries": list(known.values()) or ["ALL"],
        "languages": [LANGUAGE],
        "modalities": [m for m in modalities if m in get_args(Modality)] or ["text-to-text"],
    }
    if use_case:
        data["use_case"] = use_case
    header = [
        f"# Synthesised by `nodesynth import nodesynth-csv` from {csv_name}; this dataset was not built",
        "# from this spec: it records what the imported data covers.",
    ]
    if unknown:
        header.append(f"# Also in the data, not country names: {', '.join(unknown)}")
    text = "\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    try:  # the spec must stay loadable by `load_spec`; fail here, not when someone reads it
        DomainSpec.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReleaseImportError(f"{csv_name}: the data gives an unusable spec field '{where}' ({first['msg']}).") from None
    return text


def import_nodesynth_csv(csv_path: Path, name: str, out_dir: Path) -> ImportResult:
    """Import one NodeSynth release CSV into `out_dir` (replaced atomically) as dataset `name`.

    Raises ReleaseImportError for problems a user can fix (missing file, not a CSV, a required column
    missing, several domains in one file, a bad dataset name, an out_dir that is not a dataset).
    """
    csv_path = Path(csv_path)
    out_dir = Path(out_dir)
    if not NAME_PATTERN.match(name):
        raise ReleaseImportError(f"{csv_path}: dataset name {name!r} is not valid (use lowercase letters, digits, '-' and '_').")
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file())):
        # write_dataset replaces out_dir wholesale; never do that to something that is not a dataset
        raise ReleaseImportError(f"{csv_path}: output {out_dir} exists and is not a dataset directory; refusing to replace it.")

    frame = _read_csv(csv_path)
    frame, missing_optional = _canonical_columns(frame, csv_path)
    if frame.empty:
        raise ReleaseImportError(f"{csv_path}: the file has a header but no rows.")
    domain = _single_domain(frame, csv_path)
    build_id = new_build_id()

    nodes: dict[str, TaxonomyNode] = {}
    queries: list[QueryRecord] = []
    rejects: list[Reject] = []
    reject_codes: Counter[str] = Counter()
    fallbacks: list[_Fallback] = []
    label_changes: dict[tuple[str, str], str] = {}
    first_row_of: dict[str, int | str] = {}
    evidence: dict[tuple[str, str], _EvidenceAcc] = {}
    all_countries: list[str] = []
    modalities: list[str] = []
    use_cases: list[str] = []
    mismatches: list[int | str] = []

    def reject(row: int | str, code: str, reason: str, **context: Any) -> None:
        reject_codes[code] += 1
        rejects.append(Reject(stage=STAGE, reason=reason, context={"row": row, "code": code, **context}))

    def label(column: str, raw: str) -> str:
        cleaned = clean_label(raw)
        if cleaned != _squash(raw) and cleaned:
            label_changes[(column, _squash(raw))] = cleaned
        return cleaned

    def node(level: int, text: str, parent: str | None, rationale: str = "") -> TaxonomyNode:
        node_id = TaxonomyNode.make_id(domain, level, text, parent, "ALL")
        if node_id not in nodes:  # ids casefold the label: the first spelling seen is kept
            nodes[node_id] = TaxonomyNode(
                id=node_id, level=level, label=text, parent_id=parent, rationale=rationale, origin="imported", language=LANGUAGE
            )
        return nodes[node_id]

    for position, cells in enumerate(frame.to_dict("records")):
        cells = {key: "" if value is None else str(value) for key, value in cells.items()}
        row = _row_label(cells["index"], position)

        def listed(column: str, row: int | str = row, cells: dict[str, str] = cells) -> list[str]:
            items, fallback = parse_list_cell(cells[column])
            if fallback:
                fallbacks.append(_Fallback(column, row, fallback))
            return items

        prompt = cells["prompts"].strip()
        metadata = " ".join(
            cells[c] for c in ("paper_content", "extracted_occupations", "extracted_Demographics", "extracted_Country",
                               "user_group", "level1", "level2", "level3")
        )
        problem = _prompt_problem(prompt, metadata)
        if problem is not None:
            reject(row, *problem, prompt=prompt)
            continue
        l1_label = label("level1", cells["level1"])
        l2_label = label("level2", cells["level2"])
        l1_label = "" if is_placeholder(l1_label) else l1_label
        l2_label = "" if is_placeholder(l2_label) else l2_label
        if not l1_label or not l2_label:
            missing = "level1" if not l1_label else "level2"
            reject(row, f"no_{missing}", f"no {missing} label: the query cannot be placed in the taxonomy", prompt=prompt)
            continue
        terms, l3_problem = l3_terms(cells["level3"])
        if l3_problem:
            fallbacks.append(_Fallback("level3", row, l3_problem))
        l3_label = ", ".join(terms) or None
        if l3_label and l3_label != _squash(cells["level3"]):
            label_changes[("level3", _squash(cells["level3"]))] = l3_label

        l1 = node(1, l1_label, None)
        l2 = node(2, l2_label, l1.id)
        l3 = (
            node(3, l3_label, l2.id, "keyterm set as released: the queries were generated from these terms together")
            if l3_label
            else None
        )
        leaf = l3 or l2

        occupations = dedupe(clean_list(listed("extracted_occupations")))
        demographics = dedupe(clean_list(listed("extracted_Demographics")))
        countries_listed = clean_list(listed("extracted_Country"))  # repeats kept: they decide the country
        country = most_frequent(countries_listed)
        countries = dedupe(countries_listed)
        all_countries.extend(countries)
        fragments = listed("paper_content")
        stated = paper_countries_text(fragments)
        if stated and countries and not any(c.casefold() in stated for c in countries):
            # kept as released, but flagged: e.g. the medical file's Ghana paper rows carry the
            # country list of the neighbouring pan-European survey
            mismatches.append(row)
        modality, modality_problem = normalise_modality(cells["model_modality"])
        if modality_problem:
            fallbacks.append(_Fallback("model_modality", row, modality_problem))
        modalities.append(modality)
        user_group = label("user_group", cells["user_group"]) or None
        if user_group and is_placeholder(user_group):
            user_group = None
        use_case = _squash(cells["user_case"])
        use_case = (use_case[:1].upper() + use_case[1:]) if use_case and not is_placeholder(use_case) else None
        if use_case:  # "Advice seeking" and "advice seeking" are one use case
            use_cases.append(use_case)
        tone = _squash(cells["tone"]).casefold() or None
        if tone and is_placeholder(tone):
            tone = None

        titles = recover_titles(fragments)
        quote = QUOTE_JOINER.join(recover_quotes(fragments))
        urls = recover_urls(clean_list(listed("url")))
        sources: list[Source]
        if urls:
            # a title or quote belongs to a URL only when the row cites one URL and names one title
            title = titles[0] if len(urls) == 1 and len(titles) == 1 else ""
            sources = [Source(id=content_id(url), title=title, url=url) for url in urls]
        elif len(titles) == 1:
            sources = [Source(id=content_id(titles[0]), title=titles[0], url=None)]
        else:
            sources = []
        attributable_quote = quote if len(sources) == 1 else ""
        refs = [EvidenceRef(source_id=s.id, title=s.title, url=s.url, quote=attributable_quote) for s in sources]

        query_id = QueryRecord.make_id(prompt, leaf.id, user_group, LANGUAGE, modality)
        if query_id in first_row_of:
            reject(
                row,
                "duplicate",
                f"duplicate query: same text, node, user group, language and modality as row {first_row_of[query_id]}",
                id=query_id,
                duplicate_of_row=first_row_of[query_id],
                prompt=prompt,
            )
            continue
        first_row_of[query_id] = row
        for source in sources:
            acc = evidence.setdefault((leaf.id, source.id), _EvidenceAcc(node_id=leaf.id, source=source))
            if not acc.source.title and source.title:
                acc.source = source
            if attributable_quote:
                acc.quotes.append(attributable_quote)
            acc.occupations.extend(occupations)
            acc.demographics.extend(demographics)
            acc.countries.extend(countries)
        queries.append(
            QueryRecord(
                id=query_id,
                input=prompt,
                language=LANGUAGE,
                modality=modality,
                domain=domain,
                l1=l1.label,
                l2=l2.label,
                l3=l3.label if l3 else None,
                l1_id=l1.id,
                l2_id=l2.id,
                l3_id=l3.id if l3 else None,
                depth=3 if l3 else 2,
                taxonomy_path=[l1.label, l2.label, *([l3.label] if l3 else [])],
                user_group=user_group,
                country=country,
                demographics=demographics,
                occupations=occupations,
                evidence_refs=refs,
                use_case=use_case,
                tone=tone,
                models=dict(MODELS),
                build_id=build_id,
            )
        )

    rows = len(frame)
    fallbacks_by_column = dict(Counter(f.column for f in fallbacks))
    depth_counts = dict(sorted(Counter(q.depth for q in queries).items()))
    definition = (
        f"Imported from the NodeSynth authors' release ({csv_path.name}): {len(queries)} generated queries "
        f"in the domain {domain}, with their taxonomy (L1 category, L2 topic, L3 keyterms), user groups "
        f"and the sources they cite."
    )
    spec_text = _spec_yaml(
        name, domain, csv_path.name, definition, dedupe(all_countries), dedupe(modalities),
        Counter(use_cases).most_common(1)[0][0] if use_cases else None,
    )
    notes = [
        f"imported from the NodeSynth authors' release (google-research/nodesynth); Apache-2.0; {csv_path.name} "
        f"(sha256 {sha256_file(csv_path)})",
        "country is each row's most frequent extracted_Country (ties: the first listed); the full country "
        "lists are kept only in evidence quotes, which exist only where the release quotes its paper",
        "each level3 cell (a set of keyterms) is one L3 node: the release generated each query from the set",
        "titles and quotes are attached to a source only when a row cites exactly one URL and names one title",
    ]
    notes += [f"column '{column}' is absent from the file; that field is left empty" for column in missing_optional]
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for fallback in fallbacks:
        grouped[(fallback.column, fallback.what)].append(str(fallback.row))
    for (column, what), rows_hit in grouped.items():
        shown = ", ".join(rows_hit[:10]) + (f" and {len(rows_hit) - 10} more" if len(rows_hit) > 10 else "")
        notes.append(f"{column}: {len(rows_hit)} cell(s) {what} (rows {shown})")
    if mismatches:
        shown = ", ".join(map(str, mismatches[:10])) + (f" and {len(mismatches) - 10} more" if len(mismatches) > 10 else "")
        notes.append(
            f"extracted_Country names none of the countries in the row's own paper_content 'Country:' field in "
            f"{len(mismatches)} row(s) (rows {shown}); kept as released"
        )
    for (column, raw), cleaned in label_changes.items():
        notes.append(f"{column} label {raw!r} cleaned to {cleaned!r}")

    counts = {
        "rows": rows,
        "imported": len(queries),
        "rejected": len(rejects),
        "parse_fallbacks": len(fallbacks),
        "country_disagrees_with_paper": len(mismatches),
        **{f"rejected_{code}": n for code, n in sorted(reject_codes.items())},
    }
    # released data is kept as released: the gates only measure (diversity), they drop nothing
    _, _, quality = apply_quality_gates(queries, QualitySpec(near_duplicate_jaccard=None, check_language=False))
    manifest = Manifest(
        name=name,
        build_id=build_id,
        created=utc_now(),
        domain=domain,
        counts=counts,
        models=dict(MODELS),
        versions=package_versions(),
        canary=new_canary(),
        source=SOURCE_TAG,
        notes=notes,
        quality=quality,
    )
    try:
        written = write_dataset(
            out_dir,
            spec_text=spec_text,
            taxonomy=Taxonomy(domain=domain, nodes=list(nodes.values())),
            evidence=[acc.to_record() for acc in evidence.values()],
            queries=queries,
            rejects=rejects,
            manifest=manifest,
            spec_summary={"languages": [LANGUAGE], "definition": definition},
        )
    except OSError as error:
        raise ReleaseImportError(f"{csv_path}: cannot write the dataset to {out_dir} ({error.strerror or error}).") from None
    return ImportResult(
        manifest=written,
        out_dir=out_dir,
        rows=rows,
        imported=len(queries),
        rejected=len(rejects),
        rejected_by_reason=dict(sorted(reject_codes.items())),
        parse_fallbacks=len(fallbacks),
        fallbacks_by_column=fallbacks_by_column,
        depth_counts=depth_counts,
    )
