"""`nodesynth novelty`: how many queries copy or paraphrase prompts of known benchmarks.

    nodesynth novelty datasets/medical_advice --against ailuminate.csv:prompt_text --against sst.csv
    nodesynth novelty released.csv:prompts --against xstest_prompts.csv --semantic --json
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from generators.novelty import SimilarityFigures


def novelty(
    queries: Annotated[
        str, typer.Argument(metavar="QUERIES", help="dataset directory, .jsonl or .csv (FILE:COLUMN names the text column)")
    ],
    against: Annotated[list[str], typer.Option("--against", help="reference prompts: .csv or .jsonl, FILE:COLUMN (repeatable)")],
    threshold: Annotated[float, typer.Option(min=0.05, max=1.0, help="5-gram Jaccard at which a query counts as a near-copy")] = 0.5,
    semantic: Annotated[bool, typer.Option(help="also count paraphrases by MiniLM cosine (English; needs the embeddings extra)")] = False,
    semantic_threshold: Annotated[float, typer.Option(min=0.05, max=1.0, help="cosine at which a query counts as a paraphrase")] = 0.8,
    closest: Annotated[int, typer.Option(min=0, help="how many of the closest pairs to list")] = 5,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="also write the full report as JSON here")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as one JSON object on stdout")] = False,
) -> None:
    """Near-copies (5-gram Jaccard) and, with --semantic, paraphrases of known benchmark prompts among the queries."""
    from rich.console import Console

    from generators.artifact import write_text_atomic
    from generators.novelty import novelty as measure
    from generators.novelty import read_texts

    query_set = read_texts(queries)
    references = [read_texts(spec) for spec in against]
    report = measure(
        query_set, references, threshold=threshold, closest=closest, semantic_threshold=semantic_threshold if semantic else None
    )
    if out is not None:
        write_text_atomic(out, report.model_dump_json(indent=2) + "\n")
    if as_json:
        sys.stdout.write(report.model_dump_json() + "\n")
        return
    console = Console()
    for figures in (report.lexical, report.semantic):
        if figures is not None:
            print_figures(console, figures, report.query_count, query_set.name)


def print_figures(console: Console, figures: SimilarityFigures, query_count: int, name: str) -> None:
    from rich.table import Table

    what = "paraphrases" if "cosine" in figures.measure else "near-copies"
    table = Table(title=f"{query_count} queries ({name}) by {figures.measure}: {what} at >= {figures.threshold}")
    for column in ("reference", "prompts", what, "share", "mean nearest"):
        table.add_column(column, justify="left" if column == "reference" else "right")
    for ref in figures.by_reference:
        table.add_row(ref.name, str(ref.prompts), str(ref.near_copies), f"{ref.near_copies / query_count:.1%}", f"{ref.mean_nearest:.3f}")
    table.add_row(
        "any", str(sum(ref.prompts for ref in figures.by_reference)), str(figures.near_copies),
        f"{figures.near_copy_share:.1%}", f"{figures.mean_nearest:.3f}", style="bold",
    )
    console.print(table)
    console.print(f"nearest-prompt {figures.measure}: p90 {figures.p90_nearest:.3f}, max {figures.max_nearest:.3f}")
    for pair in figures.closest:
        console.print(
            f"[bold]{pair.score:.2f}[/] {pair.query_id}: {pair.query[:100]!r}\n      {pair.reference}: {pair.reference_text[:100]!r}",
            highlight=False,
        )
