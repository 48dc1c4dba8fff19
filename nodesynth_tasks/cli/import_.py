"""`nodesynth import ...`: released datasets into the NodeSynth dataset format.

    nodesynth import nodesynth-csv Nodesynth_Medical_L2_L3.csv --name medical_advice
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

import_app = typer.Typer(help="Import released datasets into the NodeSynth dataset format.", no_args_is_help=True)


@import_app.command("nodesynth-csv")
def import_nodesynth_csv_command(
    csv_file: Annotated[Path, typer.Argument(metavar="FILE", help="a CSV in the NodeSynth authors' release format")],
    name: Annotated[str, typer.Option(help="dataset name (datasets/<name>)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output directory (default datasets/<name>)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON object")] = False,
) -> None:
    """Import the NodeSynth authors' released CSV into the NodeSynth dataset format."""
    from generators.importers.nodesynth_csv import import_nodesynth_csv

    out_dir = out or Path("datasets") / name
    result = import_nodesynth_csv(csv_file, name, out_dir)
    counts = result.manifest.counts
    if as_json:
        sys.stdout.write(json.dumps({"out_dir": str(out_dir), **counts}) + "\n")
        return
    table = Table(title=f"imported {out_dir}", show_header=False)
    for key, value in sorted(counts.items()):
        table.add_row(key, str(value))
    Console().print(table)
