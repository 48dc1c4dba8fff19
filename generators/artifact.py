"""Reading and writing the dataset directory (`datasets/<name>/`), atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import BaseModel, ValidationError

from nodesynth_common.errors import NodeSynthError
from nodesynth_common.output_files import OutputPathError, check_parents

from .records import Evidence, Manifest, QueryRecord, Reject, Taxonomy

QUERIES = "queries.jsonl"
TAXONOMY = "taxonomy.json"
EVIDENCE = "evidence.jsonl"
REJECTS = "rejects.jsonl"
MANIFEST = "manifest.json"
SPEC = "spec.yaml"
CARD = "README.md"

CARD_TEMPLATE = Path(__file__).parent / "prompts" / "dataset_card.md"
TRACKED_PACKAGES = ("nodesynth-tasks", "inspect-ai", "transformers", "torch", "pydantic")


class DatasetError(NodeSynthError):
    """A dataset directory that cannot be read; the message names the file."""


def new_build_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def new_canary() -> str:
    return f"NODESYNTH CANARY GUID {uuid.uuid4()}"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in TRACKED_PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def jsonl(records: Iterable[BaseModel]) -> str:
    return "".join(record.model_dump_json() + "\n" for record in records)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


CANARY_PREFIX = "NODESYNTH CANARY GUID "


class OutputPlan(BaseModel):
    """What writing a dataset to a folder will do, decided before any work starts."""

    path: Path
    replaces: str | None = None
    """The build id of the dataset this tool wrote there, which the new one replaces; None for an absent or empty folder."""


def check_output_dir(path: Path, flag: str = "--out") -> OutputPlan:
    """Whether a dataset may be written to `path`: absent, empty, or a dataset this tool wrote.

    A dataset this tool wrote is recognised by its manifest's own fields (a valid `Manifest` with
    a build id and a NodeSynth canary), and holds nothing the manifest does not list, so
    replacing it loses nothing a person put there. Anything else (the current folder, a
    repository folder, a web app with its own manifest.json, a file) is refused.

    Raises:
      OutputPathError: One sentence saying what is there; choose another `flag`.
    """
    path = Path(path)
    check_parents(path, flag)
    if not path.exists():
        return OutputPlan(path=path)
    if not path.is_dir():
        raise OutputPathError(f"{flag} {path}: is a file, not a folder; choose another {flag}.")
    resolved = path.resolve()
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise OutputPathError(f"{flag} {path}: is the current folder (or holds it); choose another {flag}, e.g. datasets/<name>.")
    entries = sorted(entry.name for entry in path.iterdir())
    if not entries:
        return OutputPlan(path=path)
    manifest = _own_manifest(path)
    if manifest is None:
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        raise OutputPathError(
            f"{flag} {path}: the folder holds {shown} and is not a dataset this tool wrote; choose another {flag}."
        )
    foreign = [name for name in entries if name != MANIFEST and name not in manifest.files]
    if foreign:
        raise OutputPathError(
            f"{flag} {path}: the dataset there also holds {', '.join(foreign[:3])}, which this tool did not write; "
            f"move it or choose another {flag}."
        )
    return OutputPlan(path=path, replaces=manifest.build_id)


def _own_manifest(path: Path) -> Manifest | None:
    """The manifest of a dataset this tool wrote in `path`, else None."""
    try:
        manifest = Manifest.model_validate_json((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValidationError):
        return None
    if not manifest.canary.startswith(CANARY_PREFIX) or not manifest.build_id.strip():
        return None
    return manifest


def render_card(manifest: Manifest, spec_summary: dict[str, object], sources: Sequence[str]) -> str:
    template = CARD_TEMPLATE.read_text(encoding="utf-8")
    languages = [str(language) for language in spec_summary.get("languages") or ["en"]]  # type: ignore[attr-defined]
    counts = "\n".join(f"| {key} | {value} |" for key, value in sorted(manifest.counts.items()))
    models = "\n".join(f"| {role} | `{model}` |" for role, model in sorted(manifest.models.items())) or "| - | - |"
    notes = "\n".join(f"- {note}" for note in manifest.notes) or "- none"
    source_lines = "\n".join(f"- {source}" for source in sources) or "- none recorded"
    quality = _quality_lines(manifest)
    return template.format(
        name=manifest.name,
        pretty_name=json.dumps(f"NodeSynth: {manifest.domain}"),
        domain=manifest.domain,
        languages="\n".join(f"  - {language}" for language in languages),
        size_category=_size_category(manifest.counts.get("queries", 0)),
        canary=manifest.canary,
        build_id=manifest.build_id,
        created=manifest.created,
        source=manifest.source,
        counts=counts,
        models=models,
        notes=notes,
        sources=source_lines,
        quality=quality,
        prompts=_prompt_lines(manifest),
        definition=spec_summary.get("definition", ""),
    )


def _prompt_lines(manifest: Manifest) -> str:
    """Which prompt profile wrote the dataset (compact for small models, full for capable ones)."""
    report = manifest.prompts
    if report is None:
        return "- not recorded"
    stages = ", ".join(f"{stage} {profile}" for stage, profile in report.stages.items())
    lines = [f"- prompt profile: **{manifest.prompt_profile}** (asked: {report.profile}; per stage: {stages})"]
    if report.prompts_dir:
        lines.append(f"- templates overridden from `{report.prompts_dir}`")
    lines.append(f"- tones: {', '.join(report.tones)}" if report.tones else "- tones: none (no tone dimension)")
    for stage, calls in report.calls.items():
        if calls.schema_replies or calls.fallbacks:
            lines.append(
                f"- {stage}: {calls.calls} calls, {calls.schema_replies} JSON (response_schema) replies, "
                f"{calls.fallbacks} line-format fallbacks, {calls.retries} retries"
            )
    return "\n".join(lines)


def _quality_lines(manifest: Manifest) -> str:
    report = manifest.quality
    if report is None:
        return "- no quality gates ran (imported, or built before they existed)"

    def shown(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    return "\n".join(
        [
            f"- {report.checked} queries checked, {report.kept} kept",
            (
                f"- near-duplicates dropped (Jaccard >= {report.near_duplicate_jaccard} on character 5-grams): {report.near_duplicates}"
                if report.near_duplicate_jaccard
                else "- near-duplicate gate: off"
            ),
            f"- wrong language dropped: {report.wrong_language}" if report.check_language else "- language gate: off",
            f"- written as the assistant talking, dropped: {report.assistant_voiced}",
            (
                f"- off-topic (English; MiniLM cosine to the taxonomy path < {report.off_topic_similarity}) dropped: {report.off_topic}"
                if report.off_topic_similarity is not None
                else "- off-topic gate: off (or the embeddings extra is not installed)"
            ),
            (
                f"- near-copies of known benchmark prompts dropped (Jaccard >= {report.benchmark_jaccard}, against"
                f" {report.benchmark_prompts} prompts): {report.benchmark_copies}; mean nearest-prompt Jaccard"
                f" {shown(report.benchmark_mean_nearest)}"
                if report.benchmark_prompts
                else "- novelty against known benchmarks: not checked (spec `quality.benchmarks`, or `nodesynth novelty`)"
            ),
            f"- diversity of the kept queries: distinct-1 {shown(report.distinct_1)}, distinct-2 {shown(report.distinct_2)},"
            f" mean nearest-neighbour 5-gram Jaccard {shown(report.mean_nearest_jaccard)} (lower is more diverse)",
        ]
    )


def _size_category(n: int) -> str:
    return "n<1K" if n < 1000 else "1K<n<10K" if n < 10_000 else "10K<n<100K"


def write_dataset(
    out_dir: Path,
    *,
    spec_text: str,
    taxonomy: Taxonomy,
    evidence: Sequence[Evidence],
    queries: Sequence[QueryRecord],
    rejects: Sequence[Reject],
    manifest: Manifest,
    spec_summary: dict[str, object],
) -> Manifest:
    """Write the whole dataset directory.

    Everything is written into a sibling temp directory first and swapped in with renames, so a
    crash or a kill leaves either the previous dataset or the new one, never a mixture. Only an
    absent or empty folder, or a dataset this tool wrote, is replaced (`check_output_dir`, which
    the commands also call before their first model call).

    Raises:
      OutputPathError: `out_dir` is something else.
    """
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building.", dir=out_dir.parent))
    try:
        files = {
            SPEC: spec_text,
            TAXONOMY: taxonomy.model_dump_json(indent=2) + "\n",
            EVIDENCE: jsonl(evidence),
            QUERIES: jsonl(queries),
            REJECTS: jsonl(rejects),
        }
        for name, text in files.items():
            (staging / name).write_text(text, encoding="utf-8")
        counts = dict(manifest.counts)
        counts.update(
            queries=len(queries),
            rejects=len(rejects),
            evidence=len(evidence),
            **{f"taxonomy_l{level}": len(taxonomy.level(level)) for level in (1, 2, 3)},
        )
        for depth, n in Counter(query.depth for query in queries).items():
            counts[f"queries_depth_{depth}"] = n
        sources = sorted({f"{e.source.title or e.source.id}" + (f" <{e.source.url}>" if e.source.url else "") for e in evidence})
        manifest = manifest.model_copy(update={"counts": counts})
        (staging / CARD).write_text(render_card(manifest, spec_summary, sources), encoding="utf-8")
        manifest = manifest.model_copy(
            update={"files": {name: sha256_file(staging / name) for name in [*files, CARD]}}
        )
        (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")

        if check_output_dir(out_dir).replaces is not None:  # checked again: the build took a while
            previous = out_dir.with_name(f".{out_dir.name}.previous.{uuid.uuid4().hex[:6]}")
            os.replace(out_dir, previous)
            os.replace(staging, out_dir)
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.replace(staging, out_dir)  # absent, or an empty folder (rename replaces an empty directory)
        return manifest
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_queries(dataset_dir: Path) -> list[QueryRecord]:
    path = Path(dataset_dir) / QUERIES
    if not path.is_file():
        raise DatasetError(f"{path}: no queries.jsonl here; build the dataset with `nodesynth build` first.")
    records: list[QueryRecord] = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(QueryRecord.model_validate_json(line))
            except ValueError as error:
                first = str(error).splitlines()[0:3]
                raise DatasetError(f"{path}:{line_number}: not a valid query record ({' '.join(first)})") from None
    return records


def read_taxonomy(dataset_dir: Path) -> Taxonomy:
    path = Path(dataset_dir) / TAXONOMY
    try:
        return Taxonomy.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    except ValueError as error:
        raise DatasetError(f"{path}: not a valid taxonomy ({str(error).splitlines()[0]})") from None


def read_manifest(dataset_dir: Path) -> Manifest:
    path = Path(dataset_dir) / MANIFEST
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    except ValueError as error:
        raise DatasetError(f"{path}: not a valid manifest ({str(error).splitlines()[0]})") from None
