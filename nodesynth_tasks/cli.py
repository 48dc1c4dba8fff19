"""The `nodesynth` command: build datasets offline, import released ones.

Errors a user can cause end in one sentence on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(
    name="nodesynth",
    help="NodeSynth for Inspect: build socially grounded safety evaluation datasets and run them with Inspect.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import released datasets into the NodeSynth dataset format.", no_args_is_help=True)
app.add_typer(import_app, name="import")

stderr = Console(stderr=True)
DEFAULT_MODEL = "nodesynth/smollm2"


def fail(message: str) -> None:
    """Print one sentence and exit 2: for errors the user can fix."""
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)  # one line, however long
    raise typer.Exit(code=2)


def parse_model_args(pairs: list[str] | None, flag: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"{flag} {pair!r}: expected key=value.")
        try:
            args[key] = json.loads(value)
        except ValueError:
            args[key] = value
    return args


def make_model(name: str, model_args: dict[str, Any], max_connections: int | None, role: str) -> Any:
    """Create a model once, with the connection limit the build wants (Inspect keeps the first)."""
    from inspect_ai.model import GenerateConfig, get_model

    try:
        return get_model(name, config=GenerateConfig(max_connections=max_connections), memoize=False, **model_args)
    except Exception as error:  # Inspect raises many kinds here: unknown provider, missing key, bad args
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        fail(f"cannot use model {name!r} for the {role} role: {reason}")


GENERATOR_AS_TAG = "generator"


def make_tag_model(name: str | None, model_args: dict[str, Any], generator: str, max_connections: int | None) -> Any:
    """The L3 stage's model, or None for "the generator".

    With no name, an embedded generator gets the shipped tuned TaG (base + LoRA adapter, served
    through the same `nodesynth/` provider); a hosted generator writes its own L3 terms.
    """
    if name == GENERATOR_AS_TAG:
        return None
    if name is None:
        from generators.tag.adapter import AdapterError, default_tag_model

        try:
            default = default_tag_model(generator)
        except AdapterError as error:
            fail(str(error))
        if default is None:
            return None
        name, shipped_args = default
        model_args = {**shipped_args, **model_args}
    return make_model(name, model_args, max_connections, "tag")


class RichBuildProgress:
    """Draws the build's stages as rich progress bars."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def stage(self, name: str, total: int) -> Callable[[], None]:
        task = self.progress.add_task(name, total=max(total, 1))
        if total == 0:
            self.progress.advance(task)
        return lambda: self.progress.advance(task)


@app.command()
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
    from generators.evidence import CorpusError
    from generators.evidence.retrieval import open_retriever
    from generators.novelty import NoveltyError, read_texts
    from generators.spec import EvidenceSpec, SpecError, load_spec

    try:
        spec, spec_text = load_spec(spec_file)
    except SpecError as error:
        fail(str(error))
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
        try:
            retriever = open_retriever(spec.evidence, spec_path=None if corpus is not None else spec_file)
        except CorpusError as error:
            fail(str(error))
    # benchmarks are read before any model is created, like the corpus: a bad file fails fast
    try:
        benchmarks = [read_texts(reference, spec_path=spec_file) for reference in spec.quality.benchmarks]
        benchmarks += [read_texts(reference) for reference in benchmark or []]
    except NoveltyError as error:
        fail(str(error))
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
        columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=stderr, transient=False) as progress:
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


@import_app.command("nodesynth-csv")
def import_nodesynth_csv_command(
    csv_file: Annotated[Path, typer.Argument(metavar="FILE", help="a CSV in the NodeSynth authors' release format")],
    name: Annotated[str, typer.Option(help="dataset name (datasets/<name>)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="output directory (default datasets/<name>)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON object")] = False,
) -> None:
    """Import the NodeSynth authors' released CSV into the NodeSynth dataset format."""
    from generators.importers.nodesynth_csv import ReleaseImportError, import_nodesynth_csv

    out_dir = out or Path("datasets") / name
    try:
        result = import_nodesynth_csv(csv_file, name, out_dir)
    except ReleaseImportError as error:
        fail(str(error))
    counts = result.manifest.counts
    if as_json:
        sys.stdout.write(json.dumps({"out_dir": str(out_dir), **counts}) + "\n")
        return
    table = Table(title=f"imported {out_dir}", show_header=False)
    for key, value in sorted(counts.items()):
        table.add_row(key, str(value))
    Console().print(table)


# --- subcommands defined in their own modules: each has register(app) -------------------
# (one line per module; keep heavy imports inside the command functions)
from . import cli_calibrate; cli_calibrate.register(app)  # noqa: E402,E702
from . import cli_triage; cli_triage.register(app)  # noqa: E402,E702
from . import cli_report; cli_report.register(app)  # noqa: E402,E702
from . import cli_tag; cli_tag.register(app)  # noqa: E402,E702
from . import cli_novelty; cli_novelty.register(app)  # noqa: E402,E702


def main() -> None:
    app()


if __name__ == "__main__":
    main()
