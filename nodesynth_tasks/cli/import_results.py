"""`nodesynth import results nodesynth-xlsx [FILE] --log-dir DIR`: published results as Inspect logs.

A sub-app the `import` group mounts (`import_app.add_typer(results_app, name="results")`); user
errors are raised as `NodeSynthError`s and printed once by the root group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

results_app = typer.Typer(help="Import published results as Inspect logs.", no_args_is_help=True)


@results_app.callback()
def results() -> None:
    """Import published results as Inspect logs (one format per command)."""  # a group even with one command


@results_app.command("nodesynth-xlsx")
def nodesynth_xlsx(
    file: Annotated[
        Path | None, typer.Argument(help="the authors' workbook; default: the pinned asset (fetched or from the mirror)")
    ] = None,
    log_dir: Annotated[Path, typer.Option("--log-dir", help="where to write one .eval log per model")] = Path("logs/published"),
) -> None:
    """Write the NodeSynth authors' medical results (636 queries × 4 models) as `medical_depth` logs."""
    from nodesynth_tasks.release.results import write_result_logs

    for path in write_result_logs(log_dir, file):
        typer.echo(str(path))
