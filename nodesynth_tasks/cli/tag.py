"""`nodesynth tag ...`: the fine-tuned taxonomy generator (TaG) — data, review loop, training, evaluation.

    nodesynth tag compile                                   # datasets/tag/source/*.yaml -> curated_l3.jsonl
    nodesynth tag export-review --dataset datasets/demo -o review.csv
    nodesynth tag export-review --rows datasets/tag/curated_l3.jsonl --limit 30 -o review.csv
    nodesynth tag import-review review.csv -o reviewed.jsonl
    nodesynth tag train --base nodesynth/smollm2 --data datasets/tag/curated_l3.jsonl --out runs/tag
    nodesynth tag eval --adapter runs/tag [--json]

Heavy libraries (torch, transformers, peft) load inside the commands: `inspect eval` imports the
CLI's package at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from nodesynth_common.errors import NodeSynthError

from .common import (
    EmptyInputError,
    ModelUnavailableError,
    OptionError,
    RichBuildProgress,
    first_line,
    make_model,
    parse_model_args,
    progress_bars,
    stderr,
)

tag_app = typer.Typer(
    help="The fine-tuned taxonomy generator (TaG): curated data, review loop, LoRA training, evaluation.",
    no_args_is_help=True,
)

# how the tuned TaG is served unless `--serve-arg` says otherwise. The embedded model's default
# penalty (1.15) measured best on the held-out rows: without it the tuned 135M model loops on one
# term and the build keeps 1.8 terms per topic instead of 3.0 (generators/tag/adapter/README.md)
DEFAULT_SERVE_ARGS: dict[str, Any] = {"repetition_penalty": 1.15}


def resolve_base(base: str) -> Path:
    """The transformers folder of a base model: the embedded `nodesynth/smollm2`, or a local folder."""
    if base == "nodesynth/smollm2":
        from ..embedded_model import ensure_converted

        try:
            return ensure_converted()
        except Exception as error:  # PrerequisiteError (weights missing) and conversion failures
            raise ModelUnavailableError(f"cannot load the base model {base}: {first_line(error)}") from error
    folder = Path(base)
    if (folder / "config.json").is_file():
        return folder
    raise OptionError(f"--base {base!r}: expected nodesynth/smollm2 or a local transformers model folder (with config.json).")


@tag_app.command("compile")
def compile_command(
    source: Annotated[Path | None, typer.Option(help="folder of *.yaml sources (default datasets/tag/source)")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="JSONL to write (default datasets/tag/curated_l3.jsonl)")] = None,
    card: Annotated[bool, typer.Option(help="refresh the counts and sha256 in datasets/tag/README.md")] = True,
) -> None:
    """Compile the curated YAML sources into the versioned training file, checked as the build checks replies."""
    from generators.tag.data import (
        CURATED_FILE,
        SOURCE_DIR,
        TAG_DATA_DIR,
        compile_sources,
        file_sha256,
        row_counts,
        update_card_counts,
        write_rows,
    )

    target = out or CURATED_FILE
    rows = compile_sources(source or SOURCE_DIR)
    write_rows(target, rows)
    digest = file_sha256(target)
    if card and out is None:
        update_card_counts(TAG_DATA_DIR / "README.md", rows, digest)
    counts = row_counts(rows)
    sys.stdout.write(json.dumps({"out": str(target), "rows": len(rows), "sha256": digest, **counts}, ensure_ascii=False) + "\n")


@tag_app.command("export-review")
def export_review(
    out: Annotated[Path, typer.Option("--out", "-o", help="the CSV sheet to write")],
    dataset: Annotated[Path | None, typer.Option(help="a built dataset directory: review its taxonomy's L3 terms")] = None,
    rows: Annotated[Path | None, typer.Option(help="a JSONL of TaG rows: generate their terms with the TaG and review those")] = None,
    adapter: Annotated[Path | None, typer.Option(help="with --rows: the adapter to generate with (default: the shipped one)")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="with --rows: generate with this model instead of the TaG")] = None,
    model_arg: Annotated[list[str] | None, typer.Option("--model-arg", "-M", help="model arg key=value")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="at most N topics")] = None,
) -> None:
    """Write generated L3 terms to a CSV a reviewer fills in: Agree, Replace (with the new term) or Unsure."""
    from generators.tag.review import GeneratedRow, rows_from_taxonomy, write_sheet

    if (dataset is None) == (rows is None):
        raise OptionError("give exactly one of --dataset (a built dataset) or --rows (TaG rows to generate terms for).")
    generated: list[GeneratedRow]
    if dataset is not None:
        generated = rows_from_taxonomy(dataset)
        generated = generated[:limit] if limit else generated
    else:
        assert rows is not None
        generated = _generate_for_review(rows, adapter, model, model_arg, limit)
    if not generated:
        raise EmptyInputError("no L3 terms to review (the taxonomy has no L3 nodes, or the model gave no usable terms).")
    lines = write_sheet(out, generated)
    sys.stdout.write(f"wrote {lines} terms of {len(generated)} topics to {out}\n")


def _generate_for_review(
    rows_file: Path, adapter: Path | None, model_name: str | None, model_arg: list[str] | None, limit: int | None
) -> list[Any]:
    from generators.tag.data import TagTerm, load_rows
    from generators.tag.generate import generate_all
    from generators.tag.review import GeneratedRow

    rows = load_rows(rows_file)
    rows = rows[:limit] if limit else rows
    # Inspect prints a banner on stdout when its first model is made; stdout is for our output
    with contextlib.redirect_stdout(sys.stderr):
        model = (
            make_model(model_name, parse_model_args(model_arg, "--model-arg"), None, "tag")
            if model_name
            else _tag_model(adapter)
        )
        with progress_bars(time_remaining=True) as progress:
            task = progress.add_task("generating", total=len(rows))
            results = asyncio.run(generate_all(model, rows, lambda: progress.advance(task)))
    return [
        GeneratedRow(
            domain=item.row.domain,
            definition=item.row.definition,
            l1=item.row.l1,
            l2=item.row.l2,
            country=item.row.country,
            language=item.row.language,
            terms=[TagTerm(name=name, reason=reason) for name, reason in item.terms],
        )
        for item in results
        if item.terms
    ]


def _tag_model(adapter: Path | None) -> Any:
    from generators.tag.adapter import get_tag_model

    try:
        return get_tag_model(adapter)
    except NodeSynthError:
        raise
    except Exception as error:  # Inspect raises many kinds creating a model
        raise ModelUnavailableError(f"cannot serve the TaG adapter: {first_line(error)}") from error


@tag_app.command("import-review")
def import_review(
    sheet: Annotated[Path, typer.Argument(metavar="SHEET", help="a filled review CSV from export-review")],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL of training rows to write")],
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON object")] = False,
) -> None:
    """Turn a filled review sheet into training rows: unsure topics dropped, replacements applied."""
    from generators.tag.data import write_rows
    from generators.tag.review import read_sheet, summary

    result = read_sheet(sheet)
    write_rows(out, result.rows)
    counts = summary(result)
    if as_json:
        sys.stdout.write(json.dumps({"out": str(out), **counts}) + "\n")
        return
    sys.stdout.write(f"wrote {counts['rows']} training rows to {out} ({counts['replaced_terms']} terms replaced)\n")
    dropped = counts["dropped_by_reason"]
    assert isinstance(dropped, dict)
    for reason, number in sorted(dropped.items()):
        sys.stdout.write(f"  dropped {number} topics: {reason}\n")


@tag_app.command("train")
def train(
    out: Annotated[Path, typer.Option("--out", "-o", help="directory for the adapter and its training card")],
    base: Annotated[str, typer.Option(help="nodesynth/smollm2 or a local transformers folder")] = "nodesynth/smollm2",
    data: Annotated[Path | None, typer.Option(help="training rows JSONL (default datasets/tag/curated_l3.jsonl)")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="epochs at most")] = 5,
    patience: Annotated[int, typer.Option(min=0, help="epochs without a lower validation loss before stopping")] = 1,
    lr: Annotated[float, typer.Option(help="learning rate")] = 2e-3,
    rank: Annotated[int, typer.Option(min=1, help="LoRA rank")] = 16,
    layers: Annotated[int, typer.Option(min=1, help="top decoder layers to adapt (the rest are frozen)")] = 8,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    seed: Annotated[int, typer.Option(help="split, batch order and initialisation seed")] = 0,
    threads: Annotated[int | None, typer.Option(min=1, help="torch threads (default: all cores)")] = None,
    serve_arg: Annotated[
        list[str] | None, typer.Option("--serve-arg", help="model arg the build serves the adapter with, key=value")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the training card as JSON")] = False,
) -> None:
    """Fine-tune a LoRA adapter on the CPU: 90/10 split by seed, validation loss each epoch, early stopping."""
    from generators.tag.data import CURATED_FILE, file_sha256, load_rows
    from generators.tag.train import ServeSpec, TrainConfig, train_tag

    data_file = data or CURATED_FILE
    rows = load_rows(data_file)
    folder = resolve_base(base)
    config = TrainConfig(
        seed=seed,
        max_epochs=epochs,
        patience=patience,
        learning_rate=lr,
        lora_rank=rank,
        lora_alpha=2 * rank,
        train_layers=layers,
        batch_size=batch_size,
        threads=threads,
    )
    serve = ServeSpec(model=base, model_args={**DEFAULT_SERVE_ARGS, **parse_model_args(serve_arg, "--serve-arg")})
    with progress_bars(time_remaining=True) as progress:
        card = train_tag(
            folder,
            rows,
            out,
            base_name=base,
            data_file=_portable(data_file),
            data_sha256=file_sha256(data_file),
            config=config,
            serve=serve,
            progress=RichBuildProgress(progress),
        )
    if as_json:
        sys.stdout.write(card.model_dump_json() + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"trained {out}", show_header=False)
    for epoch in card.epochs:
        losses = f"train {epoch.train_loss:.4f}  validation {epoch.val_loss:.4f}"
        table.add_row(f"epoch {epoch.epoch}", f"{losses}  {epoch.seconds:.0f} s{'  best' if epoch.best else ''}")
    table.add_row("best epoch", str(card.best_epoch))
    table.add_row("wall time", f"{card.wall_seconds:.0f} s")
    table.add_row("peak memory", f"{card.peak_memory_mb:.0f} MB")
    table.add_row("held out", f"{card.held_out_rows} rows (nodesynth tag eval --adapter {out})")
    Console().print(table)


@tag_app.command("eval")
def eval_command(
    adapter: Annotated[Path | None, typer.Option(help="the tuned adapter (default: the shipped one)")] = None,
    data: Annotated[Path | None, typer.Option(help="rows JSONL (default: the adapter's training data)")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="evaluate only the first N held-out rows")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object with keys base and tuned")] = False,
) -> None:
    """Held-out term Jaccard and NodeSynth's character Jaccard: the untuned base against the tuned TaG."""
    from generators.tag.adapter import shipped_adapter
    from generators.tag.evaluate import evaluate_adapter

    adapter_dir = adapter or shipped_adapter()
    if adapter_dir is None:
        raise OptionError("no adapter given and none shipped; train one with `nodesynth tag train` and pass --adapter.")
    with progress_bars(time_remaining=True) as progress:
        tasks: dict[str, Any] = {}

        def advance(name: str) -> Any:
            def step() -> None:
                if name not in tasks:
                    tasks[name] = progress.add_task(name, total=None)
                progress.advance(tasks[name])

            return step

        # Inspect prints a banner on stdout at the first model call; stdout is for the result
        with contextlib.redirect_stdout(sys.stderr):
            report = asyncio.run(evaluate_adapter(adapter_dir, data, limit=limit, on_done=advance))
    if not report.same_split_as_training:
        stderr.print(
            f"note: {report.data_file} is not the adapter's training data; its held-out rows were recomputed "
            "with the adapter's seed and may overlap what the adapter saw.",
            highlight=False,
        )
    if as_json:
        sys.stdout.write(report.model_dump_json() + "\n")
        return
    _print_report(report)


def _portable(path: Path) -> Path:
    """A path inside the repository as relative to its root, so a shipped card names it portably."""
    from generators.tag.data import REPO_ROOT

    try:
        return path.resolve().relative_to(REPO_ROOT)
    except ValueError:
        return path


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"TaG held-out evaluation ({report.held_out_rows} rows)")
    # two-line headers keep the figures narrow, so an 80-column terminal shows them whole
    table.add_column("slice", justify="left", min_width=14, overflow="fold")
    for column in ("rows", "term J\nbase", "term J\ntuned", "term J\ngain", "char J\nbase", "char J\ntuned"):
        table.add_column(column, justify="right", no_wrap=True)

    def add(label: str, base: Any, tuned: Any) -> None:
        table.add_row(
            label,
            str(base.rows),
            f"{base.term_jaccard:.3f}",
            f"{tuned.term_jaccard:.3f}",
            f"{tuned.term_jaccard - base.term_jaccard:+.3f}",
            f"{base.char_jaccard:.3f}",
            f"{tuned.char_jaccard:.3f}",
        )

    add("overall", report.base, report.tuned)
    for language in report.base.by_language:
        add(language, report.base.by_language[language], report.tuned.by_language[language])
    for domain in report.base.by_domain:
        add(domain, report.base.by_domain[domain], report.tuned.by_domain[domain])
    console = Console()
    console.print(table)
    console.print(
        "term J: Jaccard of language-aware term keys (the measure to read). char J: NodeSynth's Jaccard over "
        "sets of characters, for comparability only; unrelated term lists already score high on it.",
        highlight=False,
    )
    if report.copy_ceiling is not None:
        console.print(
            f"copy ceiling: {report.copy_ceiling:.3f} term J for copying the best training row with the same topic and "
            "language into each held-out row (an oracle; reproducing reviewed terms rarely goes further on this split).",
            highlight=False,
        )
