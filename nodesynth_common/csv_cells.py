"""Every CSV the tool writes: cells a spreadsheet shows as text, and the text restored on import.

Model-written and imported text reaches review sheets and report tables. A spreadsheet program
runs a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab or carriage return) as a
formula: `=HYPERLINK(...)` or `+cmd|' /C calc'!A0` would act when a reviewer opens the sheet
(OWASP, "CSV injection"). `neutralise` prefixes such a cell with a single quote, which the
spreadsheet shows as text. A cell that itself begins with a quote is prefixed too, so `restore`
(drop one leading quote) gives back the original exactly: the encoding is unambiguous.

Numbers are written as numbers: a spreadsheet never runs `-0.5`. Lines end in CRLF (RFC 4180),
so the csv module quotes a cell holding a lone carriage return and the row reads back whole.
"""

from __future__ import annotations

import csv
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .output_files import open_atomic

QUOTE = "'"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""OWASP's list of first characters a spreadsheet may read as a formula."""


def neutralise(cell: str) -> str:
    """`cell` as a spreadsheet shows it as text: a leading quote before a formula start or a quote."""
    return QUOTE + cell if cell.startswith((*FORMULA_STARTS, QUOTE)) else cell


def restore(cell: str) -> str:
    """The text `neutralise` was given: one leading quote dropped."""
    return cell[1:] if cell.startswith(QUOTE) else cell


def restore_row(row: Mapping[str, str | None]) -> dict[str, str]:
    """A row of a sheet read back (e.g. from `csv.DictReader`): every cell restored, None as empty."""
    return {key: restore(value or "") for key, value in row.items() if key is not None}


def csv_cell(value: Any) -> str:
    """One cell: text neutralised; numbers and booleans as written; None and NaN empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, numbers.Number):  # also numpy's scalars
        return "" if isinstance(value, numbers.Real) and math.isnan(value) else str(value)
    if type(value).__name__ in {"NAType", "NaTType"}:  # pandas' missing values, without importing pandas
        return ""
    return neutralise(str(value))


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False) -> int:
    """Write a CSV atomically (a uniquely named temporary file, then a rename), every cell through `csv_cell`.

    Args:
      path: The file to write.
      header: The column names (neutralised like any cell).
      rows: The rows, each a sequence of cells in the header's order.
      bom: Start with a UTF-8 byte-order mark, so spreadsheet programs read accents right.

    Returns:
      The number of rows written (without the header).
    """
    count = 0
    with open_atomic(path, encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow([csv_cell(name) for name in header])
        for row in rows:
            writer.writerow([csv_cell(value) for value in row])
            count += 1
    return count


def write_frame_csv(path: Path, frame: Any) -> int:
    """A pandas DataFrame as CSV, atomically, like `write_csv`: every cell that is not a number through `csv_cell`.

    Numeric, boolean and date columns are written by pandas as they are (fast for a 200,000-row
    table); the header and every other column are neutralised. Returns the number of rows.
    """
    out = frame.copy()
    out.columns = [csv_cell(name) for name in out.columns]
    for position in range(out.shape[1]):
        if out.dtypes.iloc[position].kind not in "biufcmM":
            out.isetitem(position, out.iloc[:, position].astype(object).map(csv_cell))
    with open_atomic(path, newline="") as handle:
        out.to_csv(handle, index=False, lineterminator="\r\n")
    return len(out)
