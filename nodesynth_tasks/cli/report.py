"""`nodesynth report`: the diagnostics report over Inspect logs or the NodeSynth results workbook.

    nodesynth report logs/ -o report.html --tables tables/
    nodesynth report logs/nodesynth/ --benchmark logs/baselines/ -o report.html --tables tables/
    nodesynth report --results nodesynth-xlsx Nodesynth_Medical_L2_L3.xlsx -o report.html
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import EmptyInputError, OptionError, OutputWriteError

RESULT_FORMATS = ("nodesynth-xlsx",)


def report(
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="LOGS...", help="Inspect log files or directories; with --results, result files in that format"),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="the HTML file to write")] = Path("report.html"),
    tables: Annotated[Path | None, typer.Option("--tables", help="also write every table as CSV into this directory")] = None,
    benchmark: Annotated[
        list[Path] | None,
        typer.Option("--benchmark", metavar="BASELINE_LOGS", help=(
            "logs of human-written baselines (baseline_ailuminate, baseline_simplesafetytests, baseline_xstest, or "
            "inspect_evals/xstest), paired with LOGS by model name; --tables then writes benchmark_ratio.csv (repeatable)")),
    ] = None,
    results: Annotated[
        str | None, typer.Option("--results", metavar="FORMAT", help="read LOGS as result files of this format: nodesynth-xlsx")
    ] = None,
    scorer: Annotated[
        str | None, typer.Option(help="the scorer whose failures are reported (default: rubric_rater, else the one with most verdicts)")
    ] = None,
    min_slice_n: Annotated[int, typer.Option(min=1, help="slices with fewer scored responses are marked small and not tested")] = 20,
    title: Annotated[str | None, typer.Option(help="the report's title")] = None,
    calibration: Annotated[
        list[Path] | None,
        typer.Option("--calibration", metavar="RECORD.json", help=(
            "a grader's agreement with human labels (`nodesynth calibrate ... --grader MODEL --json`), shown beside the rates "
            "it graded; repeatable; the records shipped for the embedded grader are always read")),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print what was written as one JSON object")] = False,
) -> None:
    """Write the diagnostics report: where models fail, by taxonomy node, depth and intersection."""
    from nodesynth_common.grader_calibration import load_records
    from nodesynth_common.output_files import check_output_file, check_output_folder

    from ..report import DEFAULT_TITLE, ReportOptions, tidy_table, write_report, xlsx_table

    records = load_records(calibration or [])  # a bad record fails before any log is read
    if results is not None and results not in RESULT_FORMATS:
        raise OptionError(f"--results {results!r}: unknown format (known: {', '.join(RESULT_FORMATS)}).")
    # the outputs are checked before the logs are read (a 200,000-row read is not wasted on a typo)
    check_output_file(out, "-o")
    if tables is not None:
        check_output_folder(tables, "--tables")
    if results == "nodesynth-xlsx":
        import pandas as pd

        frames = [xlsx_table(path) for path in inputs]
        table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        table.attrs["notes"] = [note for frame in frames for note in frame.attrs.get("notes", [])]
    else:
        table = tidy_table(inputs)
    bench = tidy_table(benchmark, suite="benchmark") if benchmark else None
    if table.empty:
        raise EmptyInputError(f"{', '.join(map(str, inputs))}: the logs hold no scores (did the evaluation stop before scoring?).")
    try:
        written = write_report(
            table,
            out,
            benchmark=bench,
            tables_dir=tables,
            options=ReportOptions(scorer=scorer, min_slice_n=min_slice_n, calibrations=records),
            title=title or DEFAULT_TITLE,
        )
    except OSError as error:
        raise OutputWriteError(f"{out}: cannot write the report ({error.strerror or error}).") from error
    if as_json:
        sys.stdout.write(json.dumps(written.model_dump(mode="json")) + "\n")
        return
    size = written.html_bytes / 1e6
    if written.scored == 0:
        typer.echo("warning: no response has a failure verdict (every one unscored?); the report says what it could.", err=True)
    models = f"{len(written.models)} model{'' if len(written.models) == 1 else 's'}"
    typer.echo(
        f"Report: {written.html} ({size:.1f} MB, {written.charts} charts; {models}, "
        f"{written.scored:,} scored responses, scorer {written.scorer})"
    )
    if tables is not None:
        typer.echo(f"Tables: {tables} ({len(written.tables)} CSV files)")
