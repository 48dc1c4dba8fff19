"""`nodesynth build`: a dataset from a domain spec, offline.

    nodesynth build datasets/specs/medical_advice.yaml --model openai/gpt-4o-mini --out datasets/medical_advice
    nodesynth build datasets/specs/medical_advice.yaml --dry-run --price-in 0.15 --price-out 0.60

A provider that stays down past `--max-retries` / `--timeout` ends the build with one line and
exit code 1 (not 2: the user did nothing wrong); nothing is written, the finished calls are in
Inspect's cache and the same command resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from generators.faults import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT

from .common import (
    DEFAULT_MODEL,
    PromptProfileOption,
    RichBuildProgress,
    make_model,
    make_query_model,
    make_tag_model,
    parse_model_args,
    print_error,
    progress_bars,
)

if TYPE_CHECKING:
    from generators.build import BuildModels
    from generators.plan import BuildPlan, Prices

PROVIDER_DOWN_EXIT_CODE = 1


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
    query_model: Annotated[
        str | None,
        typer.Option(
            help="model for the queries; default: the shipped query adapter with an embedded nodesynth/ generator, "
            "else the generator; 'generator' forces the generator"
        ),
    ] = None,
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
    prompt_profile: Annotated[
        PromptProfileOption | None,
        typer.Option(help="prompt templates: compact (small models) or full (capable models); default: the spec's (auto)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the final summary as one JSON object on stdout")] = False,
    max_retries: Annotated[
        int, typer.Option(min=0, help="retries of a failing call (Inspect's max_retries; a malformed body too)")
    ] = DEFAULT_MAX_RETRIES,
    timeout: Annotated[
        int, typer.Option(min=1, help="seconds one call may take, retries included (Inspect's timeout)")
    ] = DEFAULT_TIMEOUT,
    batch: Annotated[
        bool, typer.Option(help="send calls through the provider's batch API (about half the price; minutes to hours)")
    ] = False,
    batch_size: Annotated[int | None, typer.Option(min=1, help="requests per provider batch (implies --batch)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the plan (cells, calls, tokens, cost) and stop: no model call, no file")
    ] = False,
    price_in: Annotated[float | None, typer.Option(min=0, help="US$ per million input tokens (default: Inspect's)")] = None,
    price_out: Annotated[float | None, typer.Option(min=0, help="US$ per million output tokens (default: Inspect's)")] = None,
) -> None:
    """Build a dataset from a domain spec: taxonomy, evidence, user groups, queries, quality gates."""
    from generators.artifact import check_output_dir
    from generators.build import BuildModels, build_dataset
    from generators.evidence.retrieval import open_retriever
    from generators.faults import ProviderUnavailable, RetryBudget
    from generators.novelty import read_texts
    from generators.plan import known_prices, plan_build
    from generators.spec import EvidenceSpec, load_spec

    spec, spec_text = load_spec(spec_file)
    if prompt_profile is not None:
        spec = spec.model_copy(update={"prompt_profile": prompt_profile.value})
    if corpus is not None:  # the command line wins over the spec, and a corpus means the corpus retriever
        evidence = spec.evidence or EvidenceSpec()
        retriever_kind = evidence.retriever if evidence.retriever != "web" else "bm25"
        spec = spec.model_copy(
            update={"evidence": evidence.model_copy(update={"corpus": str(corpus), "retriever": retriever_kind, "search_providers": None})}
        )
    out_dir = out or Path("datasets") / spec.name
    if dry_run:  # before the corpus, the benchmarks and the models: nothing is opened, written or called
        plan = plan_build(spec, grounded=spec.evidence is not None, prices=known_prices(model, price_in, price_out))
        print_plan(plan, as_json)
        return
    # checked before anything else is read or any model created: only an absent or empty folder, or a dataset this tool wrote
    check_output_dir(out_dir, "--out")
    settings: dict[str, Any] = RetryBudget(max_retries=max_retries, timeout=timeout).generate_config()
    if batch or batch_size is not None:
        settings["batch"] = batch_size if batch_size is not None else True
    # the corpus is opened (and indexed if it changed) before any model is created: a bad folder fails fast
    retriever = None
    if spec.evidence is not None and spec.evidence.retriever != "web":
        retriever = open_retriever(spec.evidence, spec_path=None if corpus is not None else spec_file)
    # benchmarks are read before any model is created, like the corpus: a bad file fails fast
    benchmarks = [read_texts(reference, spec_path=spec_file) for reference in spec.quality.benchmarks]
    benchmarks += [read_texts(reference) for reference in benchmark or []]
    # Inspect prints a banner on stdout at its first model call; stdout is for the summary
    with contextlib.redirect_stdout(sys.stderr):
        generator = make_model(model, parse_model_args(model_arg, "--model-arg"), max_connections, "generator", **settings)
        tag = make_tag_model(
            tag_model or spec.tag_model, parse_model_args(tag_model_arg, "--tag-model-arg"), model, max_connections, **settings
        )
        queries_by = make_query_model(query_model, model, max_connections, **settings)
        extractor_name = extractor_model or (spec.evidence.extractor_model if spec.evidence else None)
        extractor = (
            make_model(
                extractor_name, parse_model_args(extractor_model_arg, "--extractor-model-arg"), max_connections, "extractor",
                **settings,
            )
            if extractor_name
            else None
        )
        searcher = None
        if spec.evidence is not None and spec.evidence.retriever == "web":
            searcher_name = searcher_model or spec.evidence.searcher_model
            searcher = make_model(searcher_name, {}, max_connections, "searcher", **settings) if searcher_name else generator
            retriever = open_retriever(spec.evidence, searcher=searcher)
        models = BuildModels(generator, tag, extractor_model=extractor, searcher=searcher, query_model=queries_by)
        prices = build_prices(models, price_in, price_out)
        try:
            with progress_bars() as progress:
                summary = asyncio.run(
                    build_dataset(
                        spec, spec_text, models, out_dir, RichBuildProgress(progress), retriever=retriever,
                        benchmarks=benchmarks, prices=prices,
                    )
                )
        except ProviderUnavailable as down:  # not a user error: one line, exit 1, the cache resumes
            print_error(str(down))
            raise typer.Exit(code=PROVIDER_DOWN_EXIT_CODE) from None
    if as_json:
        sys.stdout.write(summary.model_dump_json() + "\n")
        return
    table = Table(title=f"built {summary.out_dir}", show_header=False)
    for key in ("queries", "rejects", "taxonomy_nodes", "user_groups", "model_calls", "cache_hits", "tokens", "seconds"):
        table.add_row(key.replace("_", " "), str(getattr(summary, key)))
    if summary.prompt_profile is not None:
        table.add_row("prompt profile", summary.prompt_profile)
    if summary.calls_by_stage:
        table.add_row("calls by stage", ", ".join(f"{k}: {v}" for k, v in summary.calls_by_stage.items()))
    if summary.retried:
        table.add_row("retried calls", f"{summary.retried}: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.retries.items())))
    if summary.provider_errors:
        table.add_row("provider errors", f"{summary.provider_errors} requests refused (rejects with reason 'provider error')")
    if summary.batch:
        table.add_row("batch", "provider batch API" + (f", {summary.batch} per batch" if summary.batch is not True else ""))
    if summary.estimated_cost is not None:
        table.add_row("estimated cost", f"${summary.estimated_cost:,.4f}")
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
            f"{quality.wrong_language} wrong language, {quality.assistant_voiced} assistant-voiced, {quality.off_topic} off-topic dropped"
            + (f", {quality.benchmark_copies} copies of benchmark prompts" if quality.benchmark_prompts else "")
            + f"; {diversity}",
        )
    if summary.rejects_by_stage:
        table.add_row("rejects by stage", ", ".join(f"{k}: {v}" for k, v in sorted(summary.rejects_by_stage.items())))
    Console().print(table)


def build_prices(models: BuildModels, price_in: float | None, price_out: float | None) -> dict[str, Prices]:
    """Each model's prices: the flags' for every model, else Inspect's where it knows them."""
    from generators.plan import known_prices

    prices = {}
    for model in (models.generator, models.tag, models.extractor_model, models.searcher):
        if model is not None:
            known = known_prices(str(model), price_in, price_out)
            if known is not None:
                prices[str(model)] = known
    return prices


def print_plan(plan: BuildPlan, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(plan.model_dump_json() + "\n")
        return
    table = Table(title=f"plan for {plan.name} (no model called, nothing written)", show_header=True)
    for column in ("stage", "calls", "input tokens", "output tokens"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage, step in plan.stages.items():
        table.add_row(stage, f"{step.calls:,}", f"{step.input_tokens:,}", f"{step.output_tokens:,}")
    table.add_row("total", f"{plan.model_calls:,}", f"{plan.tokens['input']:,}", f"{plan.tokens['output']:,}")
    Console().print(table)
    cost = f"estimated cost ${plan.cost:,.4f}" if plan.cost is not None else "cost unknown: give --price-in / --price-out"
    Console().print(f"{plan.cells:,} query cells, {plan.queries:,} queries; {cost}", highlight=False)
    for note in plan.notes:
        Console().print(f"note: {note}", highlight=False)
