"""The release file: its columns, and reading it into rows, with one-sentence errors for a file it cannot be.

The release (`NodeSynth_Data_*_Full_Export.csv`) has one row per generated query with the columns
index, Domain, level1, prompts, level2, level3, user_group, extracted_occupations,
extracted_Demographics, extracted_Country, user_case, model_modality, paper_content, url, tone.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from .cells import dedupe, squash
from .errors import ReleaseImportError

LANGUAGE = "en"  # the release is English only; it has no language column
MODELS = {"source": "nodesynth-release"}

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


class ReleaseRow(BaseModel):
    """One row of the release: every known column present, as text ('' for an empty or absent cell)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    position: int
    cells: dict[str, str]

    @classmethod
    def of(cls, position: int, cells: dict[str, object]) -> ReleaseRow:
        """A row from raw cells; a column the file lacks is an empty cell."""
        text = {key: "" if value is None else str(value) for key, value in cells.items()}
        return cls(position=position, cells={column: "" for column in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)} | text)

    @property
    def label(self) -> int | str:
        """The release's own row index for rejects and notes (the CSV position when it has none)."""
        text = self.cells["index"].strip()
        if not text:
            return self.position
        return int(text) if text.isdigit() else text


class Release(BaseModel):
    """A release file read: its one domain, its rows, and the optional columns it lacks."""

    model_config = ConfigDict(extra="forbid")

    domain: str
    rows: list[ReleaseRow]
    missing_optional: list[str]


def read_release(csv_path: Path) -> Release:
    """The rows of one release CSV; ReleaseImportError (one sentence naming the file) when it is not one."""
    frame = _read_csv(csv_path)
    frame, missing_optional = _canonical_columns(frame, csv_path)
    if frame.empty:
        raise ReleaseImportError(f"{csv_path}: the file has a header but no rows.")
    domain = _single_domain(frame, csv_path)
    rows = [ReleaseRow.of(position, cells) for position, cells in enumerate(frame.to_dict("records"))]
    return Release(domain=domain, rows=rows, missing_optional=missing_optional)


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
        raise ReleaseImportError(
            f"{csv_path}: a row has more cells than the header has columns (is a cell missing its quotes?)."
        ) from None
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
    domains = dedupe(d for d in (squash(v) for v in frame["Domain"]) if d)
    if not domains:
        raise ReleaseImportError(f"{csv_path}: column 'Domain' is empty in every row.")
    if len(domains[0]) < 2:
        raise ReleaseImportError(f"{csv_path}: column 'Domain' holds {domains[0]!r}, too short to name a domain.")
    if len(domains) > 1:
        shown = ", ".join(repr(d) for d in domains[:4])
        raise ReleaseImportError(f"{csv_path}: column 'Domain' holds {len(domains)} domains ({shown}); import one domain per file.")
    return domains[0]
