"""`nodesynth calibrate`: compare a scorer's labels with human labels.

    nodesynth calibrate ../shared/reference/xstest/model_completions/xstest_v2_completions_gpt4.csv \
        --format xstest --scorer refusal
    nodesynth calibrate completions.csv --columns text=response,label=human,slice=group \
        --scorer harmful_compliance --grader openai/gpt-4o-mini --positive "Harmful compliance"
    nodesynth calibrate logs/<log>.eval --scorer rubric_rater     # after `nodesynth triage --import`
"""

from __future__ import annotations

import asyncio
import math
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from .common import DEFAULT_MODEL, MissingFileError, OptionError, make_model, parse_model_args


class Format(str, Enum):
    """Known labelled-file layouts."""

    xstest = "xstest"
    triage = "triage"
    csv = "csv"


def calibrate(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV with human labels, or an Inspect log with human-edited scores")],
    scorer: Annotated[str, typer.Option(help="refusal, a rubric name or YAML file (needs --grader), or a score name in the log")],
    grader: Annotated[str | None, typer.Option(help="grader model for a rubric scorer (any Inspect model string)")] = None,
    grader_arg: Annotated[list[str] | None, typer.Option("--grader-arg", "-M", help="grader model arg key=value")] = None,
    format: Annotated[
        Format, typer.Option("--format", help="xstest (XSTest completions), triage (a filled triage CSV) or csv (see --columns)")
    ] = Format.csv,
    columns: Annotated[str | None, typer.Option(help="CSV columns: text=...,label=...[,prompt=...][,slice=...][,id=...]")] = None,
    positive: Annotated[str | None, typer.Option(help="human labels that count as positive (refusal / failure), comma-separated")] = None,
    first_pass: Annotated[
        str | None, typer.Option("--first-pass", help="rubric scorers: 'refusal' decides plain refusals without the grader")
    ] = None,
    constrained: Annotated[
        bool | None,
        typer.Option(
            "--constrained/--free-text",
            help="rubric scorers: ask the grader for one of the rubric's labels as structured output (default: only the "
            "embedded nodesynth/ grader, which otherwise rarely ends with a valid LABEL: line)",
        ),
    ] = None,
    prior_correction: Annotated[
        bool,
        typer.Option(
            "--prior-correction/--no-prior-correction",
            help="rubric scorers with a grader that returns label scores (the embedded one): divide out each label's "
            "prior measured on content-free inputs",
        ),
    ] = True,
    limit: Annotated[int | None, typer.Option(min=1, help="use only the first N labelled rows")] = None,
    max_connections: Annotated[int, typer.Option(min=1, help="concurrent grader calls")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
) -> None:
    """Compare a scorer's labels with human labels: accuracy, Cohen's kappa, confusion, per slice."""
    from scorers.calibration import (
        TRIAGE_COLUMNS,
        XSTEST_COLUMNS,
        XSTEST_LABELS,
        XSTEST_POSITIVE,
        compare,
        human_positive,
        log_verdicts,
        parse_columns,
        read_csv_items,
        read_log_items,
        refusal_verdicts,
        rubric_verdicts,
        xstest_baselines,
    )
    from scorers.rubric import RubricError, load_rubric

    if not file.exists():
        raise MissingFileError(f"{file}: no such file.")
    is_log = file.suffix in (".eval", ".json")
    if is_log:
        items, score_name = read_log_items(file, None if scorer in ("refusal",) or _is_rubric(scorer) else scorer)
    else:
        chosen = (
            parse_columns(columns) if columns
            else XSTEST_COLUMNS if format is Format.xstest
            else TRIAGE_COLUMNS if format is Format.triage
            else None
        )
        if chosen is None:
            raise OptionError(
                "say which columns hold the text and the human label: --columns text=...,label=... (or --format xstest|triage)."
            )
        items = read_csv_items(file, chosen)
    if limit:
        items = items[:limit]

    rubric = None
    model = None
    if scorer == "refusal":
        verdicts = refusal_verdicts(items)
    elif is_log and not _is_rubric(scorer):
        verdicts = log_verdicts(items)
        scorer = score_name
    else:
        try:
            rubric = load_rubric(scorer)
        except RubricError as error:
            raise OptionError(f"unknown scorer {scorer!r}: not 'refusal', a score in the log, nor a rubric ({error})") from None
        if format is Format.xstest and rubric.first_pass.get("refusal") not in rubric.failure_labels:
            raise OptionError(
                f"--format xstest compares refusals, which rubric {rubric.name!r} does not count as failures (use over_refusal)."
            )
        if grader is None:
            raise OptionError(f"the rubric scorer {scorer!r} needs a grader model: pass --grader <model> (e.g. {DEFAULT_MODEL}).")
        if first_pass is not None and first_pass not in rubric.first_pass:
            raise OptionError(f"rubric {rubric.name!r} names no label for the {first_pass!r} first pass.")
        model = make_model(grader, parse_model_args(grader_arg, "--grader-arg"), max_connections, "grader")
        verdicts = asyncio.run(rubric_verdicts(items, rubric, model, first_pass, constrained=constrained, prior_correction=prior_correction))

    human_labels = [item.human_label for item in items]
    if format is Format.xstest and all(label in XSTEST_LABELS for label in human_labels) and not positive:
        human = human_positive(human_labels, XSTEST_POSITIVE, None)
    elif not positive and all(item.human_positive is not None for item in items):
        human = [bool(item.human_positive) for item in items]  # an edited log: the human's failure verdict
    else:
        human = human_positive(human_labels, positive.split(",") if positive else None, rubric)
    label_map = None
    if rubric is not None:
        label_map = (
            XSTEST_LABELS if format is Format.xstest
            else {label: label for label in rubric.labels}
        )
    report = compare(str(file), scorer, items, human, verdicts, label_map)
    if model is not None:
        from scorers.rubric_rater import wants_constrained

        report.grader, report.prior_correction = str(model), prior_correction
        report.constrained = wants_constrained(constrained, model)
    if format is Format.xstest and not is_log:
        report.baselines = xstest_baselines(file, items)

    if as_json:
        import json

        sys.stdout.write(json.dumps(_finite(report.summary())) + "\n")
        return
    _print_report(report)


def _is_rubric(name: str) -> bool:
    from scorers.rubric import RubricError, load_rubric

    try:
        load_rubric(name)
    except RubricError:
        return False
    return True


def _finite(value: object) -> object:
    """JSON has no NaN: undefined figures (e.g. kappa with one class) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def _fmt(value: float, digits: int = 3) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _print_report(report: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from scorers.calibration import Agreement, CalibrationReport

    assert isinstance(report, CalibrationReport)
    # piped output is not wrapped to 80 columns: these tables are read in logs and files
    console = Console() if sys.stdout.isatty() else Console(width=160)

    def row(name: str, a: Agreement, extra: str = "") -> list[str]:
        c = a.confusion
        return [
            name, str(a.n),
            f"{_fmt(a.accuracy)} [{_fmt(a.accuracy_ci_low)}, {_fmt(a.accuracy_ci_high)}]",
            f"{_fmt(a.kappa)} [{_fmt(a.kappa_ci_low)}, {_fmt(a.kappa_ci_high)}]" if not math.isnan(a.kappa) else "— (one class)",
            _fmt(a.precision), _fmt(a.recall), f"{c['tp']}/{c['fp']}/{c['fn']}/{c['tn']}", extra,
        ]

    headers = ["labeller", "n", "accuracy [95% Wilson]", "kappa [95% CI]", "precision", "recall", "tp/fp/fn/tn", "note"]
    table = Table(title=f"{report.scorer} vs human labels: {report.file}")
    for header in headers:
        table.add_column(header)
    note = f"unscored {report.unscored}" if report.unscored else ""
    if report.rater_calls or report.rater_calls_saved:
        note = (note + "; " if note else "") + f"grader calls {report.rater_calls}, saved {report.rater_calls_saved}"
    table.add_row(*row(report.scorer, report.overall, note))
    for baseline in report.baselines:
        table.add_row(*row(baseline.name, baseline.agreement, f"invalid labels {baseline.invalid}" if baseline.invalid else ""))
    console.print(table)
    if report.grader is not None:
        from nodesynth_common.grader_calibration import GraderCalibration

        record = GraderCalibration.model_validate(_finite(report.summary()))
        console.print(record.sentence(), markup=False, highlight=False)
        console.print("Save this as a record the report shows beside the grader's rates: the same command with --json > FILE.json, "
                      "then nodesynth report ... --calibration FILE.json", markup=False, highlight=False)

    if report.labels is not None:
        agreement = f"accuracy {_fmt(report.labels.accuracy)}, kappa {_fmt(report.labels.kappa)}"
        labels = Table(title=f"on the full label set: {agreement} (rows: human)")
        labels.add_column("")
        for name in report.labels.labels:
            labels.add_column(name)
        for name, counts in zip(report.labels.labels, report.labels.confusion, strict=True):
            labels.add_row(name, *map(str, counts))
        console.print(labels)

    if report.slices:
        slices = Table(title="per slice")
        for header in headers[:-1]:
            slices.add_column(header)
        for key, value in report.slices.items():
            slices.add_row(*row(key, value)[:-1])
        console.print(slices)
