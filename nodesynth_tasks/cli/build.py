"""`nodesynth build`: a dataset from a domain spec, offline.

    nodesynth build datasets/specs/medical_advice.yaml --model openai/gpt-4o-mini --out datasets/medical_advice
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .common import DEFAULT_MODEL, RichBuildProgress, make_model, make_tag_model, parse_model_args, progress_bars


def build(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC", help="domain spec YAML (see datasets/specs/)")],
    model: Annotated[str, typer.Option("--model", "-m", help="generator model (any Inspect model string)")] = DEFAULT_MODEL,
    model_arg: Annotated[list[str] | None, typer.Option("--model-arg", "-M", help="generator model arg key=value")] = None,
    tag_model: Annotated[
        str | None,
        typer.Option(
            help="model for L3 terms (the TaG); default: the spec's, else the shipped tuned TaG with an embedded "
            "nodesynth/ generator, else the generator; 'generator' forces the generator"
        ),
    ] = None,
    tag_model_arg: Annotated[list[str] | None, typer.Option("--tag-model-arg", help="TaG model arg key=value")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output directory (default datasets/<name>)")] = None,
    max_connections: Annotated[int, typer.Option(min=1, help="concurrent calls per model")] = 10,
    corpus: Annotated[
        Path | None, typer.Option(help="evidence corpus folder (.txt/.md/.html); overrides the spec's evidence.corpus")
    ] = None,
    extractor_model: Annotated[
        str | None, typer.Option(help="model that extracts evidence; default: the spec's, else the generator")
    ] = None,
    extractor_model_arg: Annotated[list[str] | None, typer.Option("--extractor-model-arg", help="extractor model arg key=value")] = None,
    searcher_model: Annotated[
        str | None, typer.Option(help="search-capable model for evidence.retriever web; default: the spec's, else the generator")
    ] = None,
    benchmark: Annotated[
        list[str] | None,
        typer.Option(help="known prompts, .csv/.jsonl (FILE:COLUMN); near-copies are dropped; adds to the spec's quality.benchmarks"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the final summary as one JSON object on stdout")] = False,
) -> None:
    """Build a dataset from a domain spec: taxonomy, evidence, user groups, queries, quality gates."""
    from generators.build import BuildModels, build_dataset
    from generators.evidence.retrieval import open_retriever
    from generators.novelty import read_texts
    from generators.spec import EvidenceSpec, load_spec

    spec, spec_text = load_spec(spec_file)
    if corpus is not None:  # the command line wins over the spec, and a corpus means the corpus retriever
        evidence = spec.evidence or EvidenceSpec()
        retriever_kind = evidence.retriever if evidence.retriever != "web" else "bm25"
        spec = spec.model_copy(
            update={"evidence": evidence.model_copy(update={"corpus": str(corpus), "retriever": retriever_kind, "search_providers": None})}
        )
    out_dir = out or Path("datasets") / spec.name
    # the corpus is opened (and indexed if it changed) before any model is created: a bad folder fails fast
    retriever = None
    if spec.evidence is not None and spec.evidence.retriever != "web":
        retriever = open_retriever(spec.evidence, spec_path=None if corpus is not None else spec_file)
    # benchmarks are read before any model is created, like the corpus: a bad file fails fast
    benchmarks = [read_texts(reference, spec_path=spec_file) for reference in spec.quality.benchmarks]
    benchmarks += [read_texts(reference) for reference in benchmark or []]
    # Inspect prints a banner on stdout at its first model call; stdout is for the summary
    with contextlib.redirect_stdout(sys.stderr):
        generator = make_model(model, parse_model_args(model_arg, "--model-arg"), max_connections, "generator")
        tag = make_tag_model(tag_model or spec.tag_model, parse_model_args(tag_model_arg, "--tag-model-arg"), model, max_connections)
        extractor_name = extractor_model or (spec.evidence.extractor_model if spec.evidence else None)
        extractor = (
            make_model(extractor_name, parse_model_args(extractor_model_arg, "--extractor-model-arg"), max_connections, "extractor")
            if extractor_name
            else None
        )
        searcher = None
        if spec.evidence is not None and spec.evidence.retriever == "web":
            searcher_name = searcher_model or spec.evidence.searcher_model
            searcher = make_model(searcher_name, {}, max_connections, "searcher") if searcher_name else generator
            retriever = open_retriever(spec.evidence, searcher=searcher)
        models = BuildModels(generator, tag, extractor_model=extractor, searcher=searcher)
        with progress_bars() as progress:
            summary = asyncio.run(
                build_dataset(
                    spec, spec_text, models, out_dir, RichBuildProgress(progress), retriever=retriever, benchmarks=benchmarks
                )
            )
    if as_json:
        sys.stdout.write(summary.model_dump_json() + "\n")
        return
    table = Table(title=f"built {summary.out_dir}", show_header=False)
    for key in ("queries", "rejects", "taxonomy_nodes", "user_groups", "model_calls", "cache_hits", "tokens", "seconds"):
        table.add_row(key.replace("_", " "), str(getattr(summary, key)))
    if summary.evidence is not None:
        report = summary.evidence
        share = f"{report.failed_share:.0%}" if report.failed_share is not None else "n/a"
        table.add_row("evidence kept", f"{report.kept} of {report.checked} checked items ({share} failed verification)")
    if summary.quality is not None:
        quality = summary.quality
        diversity = f"distinct-2 {quality.distinct_2:.2f}" if quality.distinct_2 is not None else "distinct-2 n/a"
        table.add_row(
            "quality gates",
            f"kept {quality.kept} of {quality.checked}: {quality.near_duplicates} near-duplicates, "
            f"{quality.wrong_language} wrong language dropped"
            + (f", {quality.benchmark_copies} copies of benchmark prompts" if quality.benchmark_prompts else "")
            + f"; {diversity}",
        )
    if summary.rejects_by_stage:
        table.add_row("rejects by stage", ", ".join(f"{k}: {v}" for k, v in sorted(summary.rejects_by_stage.items())))
    Console().print(table)
