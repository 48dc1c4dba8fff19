"""The review loop: generated L3 terms out to a sheet a reviewer fills in, and back in as training rows.

Like NodeSynth's review sheets, a reviewer judges each generated term: **Agree** (keep it),
**Replace** (write the right term in `replacement`, as `term: reason`), or **Unsure**. The sheet
has one line per term, grouped by `row_id` (one L2 topic in one country and language):

    row_id, domain, definition, l1, l2, country, language, term_number, term, reason,
    decision, replacement, comment

Importing keeps a topic only when all of its terms were reviewed and none is Unsure (a training
row needs exactly three terms a reviewer stands behind); every topic left out is reported with
its reason. A sheet that cannot be read as intended (a missing column, an unknown decision, a
Replace without a replacement) stops the import with one sentence naming the row and column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nodesynth_common.errors import NodeSynthError

from .data import TERMS_PER_ROW, TagRow, TagTerm, row_problems

COLUMNS = (
    "row_id",
    "domain",
    "definition",
    "l1",
    "l2",
    "country",
    "language",
    "term_number",
    "term",
    "reason",
    "decision",
    "replacement",
    "comment",
)
# the columns that must agree on every line of one row_id
ROW_FIELDS = ("domain", "definition", "l1", "l2", "country", "language")
DECISIONS = ("Agree", "Replace", "Unsure")


class TagReviewSheetError(NodeSynthError):
    """A sheet that cannot be read as intended; one sentence naming the file, row and column."""


class GeneratedRow(BaseModel):
    """Generated terms for one L2 topic, to be reviewed (any number of terms)."""

    model_config = ConfigDict(extra="forbid")

    domain: str
    definition: str = ""
    l1: str
    l2: str
    country: str = "ALL"
    language: str = "en"
    terms: list[TagTerm] = Field(min_length=1)

    @property
    def row_id(self) -> str:
        return TagRow.make_id(self.domain, self.l1, self.l2, self.country, self.language)


# --- export -------------------------------------------------------------------------------


def rows_from_taxonomy(dataset_dir: Path) -> list[GeneratedRow]:
    """The L3 terms of a built dataset, grouped by their L2 topic.

    Reads `taxonomy.json`, and the domain definition from the `spec.yaml` beside it when present.
    """
    import yaml

    from ..records import Taxonomy

    dataset_dir = Path(dataset_dir)
    taxonomy_file = dataset_dir / "taxonomy.json"
    try:
        taxonomy = Taxonomy.model_validate_json(taxonomy_file.read_text(encoding="utf-8"))
    except OSError as error:
        raise TagReviewSheetError(f"cannot read {taxonomy_file}: {error.strerror or error}.") from error
    except ValidationError as error:
        raise TagReviewSheetError(f"{taxonomy_file} is not a NodeSynth taxonomy: {error.errors()[0]['msg']}.") from error
    definition = ""
    spec_file = dataset_dir / "spec.yaml"
    if spec_file.is_file():
        spec = yaml.safe_load(spec_file.read_text(encoding="utf-8")) or {}
        definition = " ".join(str(spec.get("definition") or "").split())
    index = taxonomy.by_id()
    rows = []
    for topic in taxonomy.level(2):
        terms = [node for node in taxonomy.children(topic.id) if node.level == 3]
        if not terms:
            continue
        category = index.get(topic.parent_id or "")
        rows.append(
            GeneratedRow(
                domain=taxonomy.domain,
                definition=definition,
                l1=category.label if category else "",
                l2=topic.label,
                country=topic.country,
                language=terms[0].language,
                terms=[TagTerm(name=node.label, reason=node.rationale) for node in terms],
            )
        )
    return rows


def sheet_text(rows: Iterable[GeneratedRow]) -> str:
    """The review sheet as CSV text: one line per term, decision and replacement left blank."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        for number, term in enumerate(row.terms, start=1):
            writer.writerow(
                [
                    row.row_id,
                    row.domain,
                    row.definition,
                    row.l1,
                    row.l2,
                    row.country,
                    row.language,
                    number,
                    term.name,
                    term.reason,
                    "",
                    "",
                    "",
                ]
            )
    return out.getvalue()


def write_sheet(path: Path, rows: Iterable[GeneratedRow]) -> int:
    """Write the sheet (UTF-8 with a byte-order mark, so spreadsheet programs read accents right)."""
    text = sheet_text(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8-sig")
    return max(0, text.count("\n") - 1)


# --- import -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dropped:
    row_id: str
    l2: str
    reason: str


@dataclass
class ReviewImport:
    """Training rows from a filled sheet, and the topics left out, with why."""

    rows: list[TagRow] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    replaced_terms: int = 0


def _decision(value: str, where: str) -> str:
    text = value.strip()
    if not text:
        return ""
    for decision in DECISIONS:
        if text.casefold() == decision.casefold():
            return decision
    raise TagReviewSheetError(f"{where}, column decision: {text!r} is not one of {', '.join(DECISIONS)} (or empty when not reviewed).")


def _replacement(value: str, where: str) -> TagTerm:
    from ..llm import parse_items

    text = value.strip()
    parsed = parse_items(text)
    if len(parsed) > 1:
        raise TagReviewSheetError(f"{where}, column replacement: write one term, as 'term: reason'.")
    name, reason = parsed[0] if parsed else (text, "")
    if not name.strip():
        raise TagReviewSheetError(f"{where}, column replacement: the term before ':' is empty.")
    return TagTerm(name=name.strip().rstrip("."), reason=reason.strip())


def read_sheet(path: Path) -> ReviewImport:
    """Turn a filled review sheet into training rows (origin "reviewed"); see the module docstring."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise TagReviewSheetError(f"cannot read review sheet {path}: {error.strerror or error}.") from error
    except UnicodeDecodeError as error:
        raise TagReviewSheetError(f"review sheet {path} is not UTF-8 text; save it as CSV UTF-8.") from error
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in (reader.fieldnames or [])]
    if not header:
        raise TagReviewSheetError(f"review sheet {path} is empty.")
    missing = [name for name in COLUMNS if name not in header and name != "comment"]
    if missing:
        raise TagReviewSheetError(
            f"review sheet {path} is missing the column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            "export a fresh sheet with `nodesynth tag export-review`."
        )
    reader.fieldnames = header

    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line_number, line in enumerate(reader, start=2):  # the header is row 1, as in a spreadsheet
        where = f"{path.name} row {line_number}"
        if None in line:
            raise TagReviewSheetError(f"{where}: more cells than columns (an unquoted comma?).")
        cells = {key: (value or "").strip() for key, value in line.items()}
        if not any(cells.values()):
            continue
        for column in ("row_id", "term", *ROW_FIELDS):
            if column != "definition" and not cells.get(column):
                raise TagReviewSheetError(f"{where}, column {column}: empty.")
        groups.setdefault(cells["row_id"], []).append((line_number, cells))

    result = ReviewImport()
    for row_id, lines in groups.items():
        first_number, first = lines[0]
        terms: list[TagTerm] = []
        unsure = unreviewed = False
        numbers: set[int] = set()
        for line_number, cells in lines:
            where = f"{path.name} row {line_number}"
            for column in ROW_FIELDS:
                if cells[column] != first[column]:
                    raise TagReviewSheetError(
                        f"{where}, column {column}: {cells[column]!r} differs from {first[column]!r} "
                        f"on row {first_number}, which has the same row_id."
                    )
            try:
                number = int(cells["term_number"])
            except ValueError:
                raise TagReviewSheetError(f"{where}, column term_number: {cells['term_number']!r} is not a whole number.") from None
            if number in numbers:
                raise TagReviewSheetError(f"{where}, column term_number: term {number} appears twice for row_id {row_id}.")
            numbers.add(number)
            decision = _decision(cells["decision"], where)
            if decision != "Replace" and cells["replacement"]:
                shown = decision or "empty"
                raise TagReviewSheetError(
                    f"{where}, column replacement: filled in, but the decision is {shown}; "
                    "set the decision to Replace or clear the replacement."
                )
            if decision == "Replace":
                if not cells["replacement"]:
                    raise TagReviewSheetError(
                        f"{where}, column replacement: empty, but the decision is Replace; write the new term as 'term: reason'."
                    )
                terms.append(_replacement(cells["replacement"], where))
                result.replaced_terms += 1
            elif decision == "Agree":
                terms.append(TagTerm(name=cells["term"], reason=cells["reason"]))
            elif decision == "Unsure":
                unsure = True
            else:
                unreviewed = True
        reason = None
        if unsure:
            reason = "a reviewer was unsure of a term"
        elif unreviewed:
            reason = "not every term has a decision"
        elif len(terms) != TERMS_PER_ROW:
            reason = f"{len(terms)} reviewed terms; a training row needs exactly {TERMS_PER_ROW}"
        if reason is None:
            try:
                row = TagRow(
                    domain=first["domain"],
                    definition=first["definition"],
                    l1=first["l1"],
                    l2=first["l2"],
                    country=first["country"],
                    language=first["language"],
                    terms=terms,
                    rationale=f"Reviewed in {path.name}.",
                    origin="reviewed",
                    source=f"review/{path.name}",
                )
            except ValidationError as error:
                problem = error.errors()[0]
                column = str(problem["loc"][0]) if problem["loc"] else "row"
                raise TagReviewSheetError(f"{path.name} row {first_number}, column {column}: {problem['msg']}.") from error
            problems = row_problems(row)
            if problems:
                reason = problems[0]
            else:
                result.rows.append(row)
                continue
        result.dropped.append(Dropped(row_id=row_id, l2=first["l2"], reason=reason))
    return result


def summary(result: ReviewImport) -> dict[str, object]:
    """Counts for the CLI: rows kept, terms replaced, topics dropped by reason."""
    reasons: dict[str, int] = {}
    for dropped in result.dropped:
        reasons[dropped.reason] = reasons.get(dropped.reason, 0) + 1
    return {"rows": len(result.rows), "replaced_terms": result.replaced_terms, "dropped": len(result.dropped), "dropped_by_reason": reasons}


