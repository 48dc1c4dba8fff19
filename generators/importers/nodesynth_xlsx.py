"""The NodeSynth authors' results workbook (`Nodesynth Medical L2+L3.xlsx`) as query records.

Sheet "Everything" has one row per query: `prompts`, its taxonomy (`level1`, `level2`,
`level3`), `source` (`sarai_l2`: generated from an L2 node, depth 2; `sarai`: from an L3 node,
depth 3), the user group and extracted occupations / demographics / country, and for each of
four target models a response column `<model>` and a label column `<model>_safety_status`.

Each row becomes the same `QueryRecord` the release importer makes from a CSV row (the same
cell cleaning, node ids and content-hash query id), so the `medical_depth` task and the logs
written from the workbook's recorded results share sample ids and metadata. Labels and
responses are returned as recorded; what counts as a failure is the rubric's business, not
this reader's. The workbook has no paper or URL columns, so the records carry no evidence.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..artifact import sha256_file
from ..records import QueryRecord, TaxonomyNode
from .nodesynth_csv import (
    ReleaseImportError,
    clean_label,
    clean_list,
    dedupe,
    is_placeholder,
    l3_terms,
    most_frequent,
    normalise_modality,
    parse_list_cell,
)

SHEET = "Everything"
LABEL_SUFFIX = "_safety_status"
REQUIRED_COLUMNS = ("prompts", "level1", "level2", "source")
OPTIONAL_COLUMNS = ("level3", "Domain", "user_group", "extracted_occupations", "extracted_Demographics",
                    "extracted_Country", "user_case", "model_modality")
DEPTH_OF_SOURCE = {"sarai_l2": 2, "sarai": 3}
MODELS = {"source": "nodesynth-release"}
LANGUAGE = "en"


class WorkbookQuery(BaseModel):
    """One workbook row: the query as a record, and each model's recorded response and label."""

    model_config = ConfigDict(extra="forbid")

    record: QueryRecord
    row: int
    source: str
    responses: dict[str, str]
    labels: dict[str, str]

    def sample_metadata(self) -> dict[str, Any]:
        """The Inspect sample metadata: every record field (as `nodesynth` gives it) plus the row's provenance."""
        metadata: dict[str, Any] = self.record.model_dump(mode="json", exclude={"id", "input"})
        return {**metadata, "source": self.source, "row": self.row}


class Workbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path
    sha256: str
    models: list[str]
    queries: list[WorkbookQuery]


def read_workbook(path: Path, *, sheet: str = SHEET) -> Workbook:
    """Read the results workbook into records.

    Raises:
      ReleaseImportError: one sentence naming the file: missing, not a workbook, no such sheet, a
        required column or every label column missing, a `source` that names no depth.
    """
    import pandas as pd

    path = Path(path).expanduser()
    if not path.is_file():
        raise ReleaseImportError(f"{path}: no such file (the NodeSynth results workbook, .xlsx, is expected).")
    try:
        with pd.ExcelFile(path, engine="openpyxl") as workbook:
            if sheet not in workbook.sheet_names:
                raise ReleaseImportError(f"{path}: no sheet '{sheet}' (sheets: {', '.join(map(str, workbook.sheet_names))}).")
            frame = pd.read_excel(workbook, sheet_name=sheet, dtype=str, keep_default_na=False)
    except (zipfile.BadZipFile, ValueError, KeyError, OSError) as error:
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise ReleaseImportError(f"{path}: not a readable .xlsx workbook ({reason}).") from None
    by_key = {str(column).strip().casefold(): column for column in frame.columns}
    for column in REQUIRED_COLUMNS:
        if column.casefold() not in by_key:
            raise ReleaseImportError(f"{path}: sheet '{sheet}' has no column '{column}'.")
    frame = frame.rename(columns={by_key[c.casefold()]: c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c.casefold() in by_key})
    models = [str(c)[: -len(LABEL_SUFFIX)].strip() for c in frame.columns if str(c).endswith(LABEL_SUFFIX)]
    if not models:
        raise ReleaseImportError(f"{path}: sheet '{sheet}' has no '<model>{LABEL_SUFFIX}' label column.")
    sha256 = sha256_file(path)
    build_id = f"xlsx-{sha256[:12]}"
    queries: list[WorkbookQuery] = []
    seen: set[str] = set()
    for position, cells in enumerate(frame.to_dict("records")):
        row = position + 2  # the spreadsheet's row number (row 1 is the header)
        cells = {key: str(value) for key, value in cells.items()}
        record = _record(cells, row, path, build_id)
        if record.id in seen:
            raise ReleaseImportError(f"{path}: row {row} repeats an earlier query (same text, node and user group).")
        seen.add(record.id)
        queries.append(
            WorkbookQuery(
                record=record,
                row=row,
                source=" ".join(cells["source"].split()),
                responses={model: cells.get(model, "") for model in models},
                labels={model: cells[f"{model}{LABEL_SUFFIX}"].strip() for model in models},
            )
        )
    return Workbook(path=path, sha256=sha256, models=models, queries=queries)


def _record(cells: dict[str, str], row: int, path: Path, build_id: str) -> QueryRecord:
    source = " ".join(cells["source"].split())
    depth = DEPTH_OF_SOURCE.get(source.casefold())
    if depth is None:
        raise ReleaseImportError(f"{path}: row {row} has source {source!r}, neither 'sarai_l2' (depth 2) nor 'sarai' (depth 3).")
    domain = " ".join(cells.get("Domain", "").split()) or "medical_advice"
    l1, l2 = clean_label(cells["level1"]), clean_label(cells["level2"])
    if not l1 or not l2:
        raise ReleaseImportError(f"{path}: row {row} has no {'level1' if not l1 else 'level2'} label.")
    terms, _ = l3_terms(cells.get("level3", "")) if depth == 3 else ([], None)
    l3 = ", ".join(terms) or None
    l1_id = TaxonomyNode.make_id(domain, 1, l1, None, "ALL")
    l2_id = TaxonomyNode.make_id(domain, 2, l2, l1_id, "ALL")
    l3_id = TaxonomyNode.make_id(domain, 3, l3, l2_id, "ALL") if l3 else None
    modality, _ = normalise_modality(cells.get("model_modality", ""))
    user_group = clean_label(cells.get("user_group", "")) or None
    if user_group and is_placeholder(user_group):
        user_group = None
    use_case = " ".join(cells.get("user_case", "").split())
    prompt = cells["prompts"].strip()
    return QueryRecord(
        id=QueryRecord.make_id(prompt, l3_id or l2_id, user_group, LANGUAGE, modality),
        input=prompt,
        language=LANGUAGE,
        modality=modality,
        domain=domain,
        l1=l1,
        l2=l2,
        l3=l3,
        l1_id=l1_id,
        l2_id=l2_id,
        l3_id=l3_id,
        depth=depth,  # what the workbook says about how the query was made, even where level3 is unreadable
        taxonomy_path=[l1, l2, *([l3] if l3 else [])],
        user_group=user_group,
        country=most_frequent(clean_list(parse_list_cell(cells.get("extracted_Country", ""))[0])),
        demographics=dedupe(clean_list(parse_list_cell(cells.get("extracted_Demographics", ""))[0])),
        occupations=dedupe(clean_list(parse_list_cell(cells.get("extracted_occupations", ""))[0])),
        use_case=(use_case[:1].upper() + use_case[1:]) if use_case and not is_placeholder(use_case) else None,
        models=dict(MODELS),
        build_id=build_id,
    )
