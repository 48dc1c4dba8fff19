"""Diagnostics report: where models fail, by taxonomy node, depth and demographic intersection.

From Python:

    from nodesynth_tasks.report import tidy_table, write_report
    df = tidy_table("logs/")                          # one row per sample × model × scorer
    write_report(df, "report.html", tables_dir="tables/")

From the shell: `nodesynth report LOGS... -o report.html [--tables DIR] [--benchmark LOG]`, or
`nodesynth report --results nodesynth-xlsx FILE -o report.html` for the NodeSynth authors'
results workbook.

Modules: `tidy` (logs → tidy table), `xlsx` (workbook → tidy table), `views` (tidy table →
tables and figures; a package, one module per report section), `judges` (agreement), `stats`
(rate tables; the tests, intervals and Holm are `scorers.stats`), `text` (n-grams), `html` (the page).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from .tidy import COLUMNS, ReportInputError, tidy_table
from .views import ReportOptions, View, build_views
from .xlsx import xlsx_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "COLUMNS",
    "DEFAULT_TITLE",
    "ReportInputError",
    "ReportOptions",
    "ReportResult",
    "View",
    "build_views",
    "tidy_table",
    "write_report",
    "xlsx_table",
]

DEFAULT_TITLE = "NodeSynth diagnostics report"


class ReportResult(BaseModel):
    """What `write_report` wrote."""

    html: Path
    html_bytes: int
    tables: list[Path]
    models: list[str]
    scorer: str | None
    scored: int
    views: int
    charts: int


def write_report(
    results: pd.DataFrame,
    out: str | Path,
    *,
    benchmark: pd.DataFrame | None = None,
    tables_dir: str | Path | None = None,
    options: ReportOptions | None = None,
    title: str = DEFAULT_TITLE,
) -> ReportResult:
    """Write the HTML report (and optionally every table as CSV) for a tidy table.

    Args:
      results: The tidy table of the evaluation under study (`tidy_table(...)` or `xlsx_table(...)`).
      out: The HTML file to write.
      benchmark: The tidy table of a human-written benchmark's logs (`tidy_table(..., suite="benchmark")`).
      tables_dir: Where to write the CSV tables (by_model.csv, by_l1.csv, depth_ablation.csv, ...,
        and tidy.csv, the whole tidy table).
      options: Thresholds and sizes (see `ReportOptions`).
      title: The page title.

    Raises:
      ReportInputError: `options.scorer` names a scorer that is not in the results.
    """
    import pandas as pd

    from .html import render_html

    notes = list(results.attrs.get("notes", []))
    tidy = results
    if benchmark is not None:
        notes += list(benchmark.attrs.get("notes", []))
        tidy = pd.concat([results, benchmark.assign(suite="benchmark")], ignore_index=True)
    s, views = build_views(tidy, options or ReportOptions())
    if s.note:
        notes.append(s.note)
    page = render_html(views, s, tidy, title=title, notes=notes)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(out)  # a reader never sees half a report

    written: list[Path] = []
    if tables_dir is not None:
        directory = Path(tables_dir)
        directory.mkdir(parents=True, exist_ok=True)
        for view in views:
            for name, table in view.tables.items():
                path = directory / f"{name}.csv"
                table.to_csv(path, index=False)
                written.append(path)
        path = directory / "tidy.csv"
        _csv_ready(tidy).to_csv(path, index=False)
        written.append(path)
    return ReportResult(
        html=out,
        html_bytes=out.stat().st_size,
        tables=written,
        models=s.models,
        scorer=s.scorer,
        scored=len(s.scored),
        views=len(views),
        charts=sum(1 for view in views if view.figure is not None),
    )


def _csv_ready(tidy: pd.DataFrame) -> pd.DataFrame:
    """Lists and dicts as JSON, so the CSV reads back unambiguously."""
    out = tidy.copy()
    for column in ("taxonomy_path", "demographics", "occupations", "score_metadata", "metadata_extra"):
        out[column] = out[column].map(lambda v: None if v is None else json.dumps(v, ensure_ascii=False, default=str))
    return out
