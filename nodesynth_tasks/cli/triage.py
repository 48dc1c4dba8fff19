"""`nodesynth triage`: the human review queue of an eval log.

    nodesynth triage logs/<log>.eval -o review.csv            # export the samples worth a look
    nodesynth triage logs/<log>.eval --import review.csv      # write the filled CSV back as score edits
    nodesynth calibrate logs/<log>.eval --scorer rubric_rater # then: scorer vs the humans
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import MissingFileError, UnreadableLogError, first_line


def triage(
    log_file: Annotated[Path, typer.Argument(metavar="LOG", help="an Inspect log (.eval or .json)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="CSV to write (default: <log>.review.csv)")] = None,
    import_csv: Annotated[
        Path | None, typer.Option("--import", help="a filled review CSV to write back into the log as score edits")
    ] = None,
    score: Annotated[str | None, typer.Option(help="the score to review (default: judge_panel, else rubric_rater)")] = None,
    min_slice: Annotated[int, typer.Option(min=1, help="slices with fewer scored samples than this are queued")] = 5,
    limit: Annotated[int | None, typer.Option(min=1, help="export at most N samples (most urgent first)")] = None,
    author: Annotated[str | None, typer.Option(help="reviewer for rows whose reviewer column is empty (default: your login)")] = None,
    log_out: Annotated[Path | None, typer.Option("--log-out", help="with --import: write the edited log here instead of in place")] = None,
) -> None:
    """Export the samples most worth a human look to CSV, or import a filled CSV as edited scores."""
    from inspect_ai.log import read_eval_log, write_eval_log

    from scorers.review import import_review, select_for_review, write_review_csv

    if not log_file.is_file():
        raise MissingFileError(f"{log_file}: no such log file.")
    try:
        log = read_eval_log(str(log_file))
    except Exception as error:  # Inspect raises several kinds for an unreadable log
        raise UnreadableLogError(f"{log_file}: cannot read it as an Inspect log ({first_line(error)}).") from error
    if import_csv is not None:
        summary = import_review(log, import_csv, author=author)
        target = log_out or log_file
        write_eval_log(log, str(target))
        sys.stdout.write(f"edited {summary.edited} scores ({summary.skipped} rows not filled) in {target}\n")
        return
    items = select_for_review(log, score=score, min_slice=min_slice)
    if limit:
        items = items[:limit]
    target = out or log_file.with_suffix(".review.csv")
    write_review_csv(items, target)
    counts: dict[str, int] = {}
    for item in items:
        for reason in item.reasons:
            kind = reason.split(":")[0].split(" (")[0]
            counts[kind] = counts.get(kind, 0) + 1
    detail = ", ".join(f"{kind}: {count}" for kind, count in sorted(counts.items())) or "nothing to review"
    sys.stdout.write(f"{len(items)} samples to review ({detail}) -> {target}\n")
