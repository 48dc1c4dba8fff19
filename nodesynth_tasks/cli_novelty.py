"""`nodesynth novelty`: how many queries are near-copies of prompts in known benchmarks.

    nodesynth novelty datasets/medical_advice --against ailuminate.csv:prompt_text --against sst.csv
    nodesynth novelty released.csv:prompts --against xstest_prompts.csv --threshold 0.5 --json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

# `from .cli import ...` happens inside the command: cli.py imports this module at its end.


def register(app: typer.Typer) -> None:
    """Add the `novelty` command to the CLI."""
    app.command()(novelty)


def novelty(
    queries: Annotated[str, typer.Argument(metavar="QUERIES", help="dataset directory, .jsonl or .csv (FILE:COLUMN names the text column)")],
    against: Annotated[list[str], typer.Option("--against", help="reference prompts: .csv or .jsonl, FILE:COLUMN (repeatable)")],
    threshold: Annotated[float, typer.Option(min=0.05, max=1.0, help="5-gram Jaccard at which a query counts as a near-copy")] = 0.5,
    closest: Annotated[int, typer.Option(min=0, help="how many of the closest pairs to list")] = 5,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="also write the full report as JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as one JSON object on stdout")] = False,
) -> None:
    """Near-copies of known benchmark prompts among the queries (character 5-gram Jaccard)."""
    from rich.console import Console
    from rich.table import Table

    from generators.artifact import write_text_atomic
    from generators.novelty import NoveltyError, read_texts
    from generators.novelty import novelty as measure

    from .cli import fail

    try:
        query_set = read_texts(queries)
        references = [read_texts(spec) for spec in against]
        report = measure(query_set, references, threshold=threshold, closest=closest)
    except NoveltyError as error:
        fail(str(error))
    if out is not None:
        write_text_atomic(out, report.model_dump_json(indent=2) + "\n")
    if as_json:
        sys.stdout.write(report.model_dump_json() + "\n")
        return
    console = Console()
    table = Table(title=f"novelty of {report.query_count} queries ({query_set.name}) at Jaccard >= {threshold}")
    for column in ("reference", "prompts", "near-copies", "share", "mean nearest"):
        table.add_column(column, justify="left" if column == "reference" else "right")
    for ref in report.by_reference:
        table.add_row(ref.name, str(ref.prompts), str(ref.near_copies), f"{ref.near_copies / report.query_count:.1%}", f"{ref.mean_nearest:.3f}")
    table.add_row(
        "any", str(sum(ref.prompts for ref in report.by_reference)), str(report.near_copies),
        f"{report.near_copy_share:.1%}", f"{report.mean_nearest:.3f}", style="bold",
    )
    console.print(table)
    console.print(f"nearest-prompt Jaccard: p90 {report.p90_nearest:.3f}, max {report.max_nearest:.3f}")
    for pair in report.closest:
        console.print(f"[bold]{pair.jaccard:.2f}[/] {pair.query_id}: {pair.query[:100]!r}\n      {pair.reference}: {pair.reference_text[:100]!r}", highlight=False)
