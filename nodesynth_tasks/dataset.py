"""Loading a NodeSynth dataset directory as Inspect samples."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from inspect_ai.dataset import MemoryDataset, Sample

from generators.artifact import DatasetError, read_manifest, read_queries
from generators.records import QueryRecord
from nodesynth_common.inspect_internals import PrerequisiteError

PROJECT_DATASETS = Path(__file__).resolve().parents[1] / "datasets"


def dataset_search_path() -> list[Path]:
    paths = [Path.cwd() / "datasets"]
    if os.environ.get("NODESYNTH_DATASETS"):
        paths.insert(0, Path(os.environ["NODESYNTH_DATASETS"]))
    if PROJECT_DATASETS not in paths:
        paths.append(PROJECT_DATASETS)
    return paths


def resolve_dataset_dir(dataset: str) -> Path:
    """A dataset directory from a path, or a name looked up in datasets/ folders."""
    path = Path(dataset).expanduser()
    if (path / "queries.jsonl").is_file():
        return path
    for base in dataset_search_path():
        if (base / dataset / "queries.jsonl").is_file():
            return base / dataset
    name = path.name
    raise PrerequisiteError(
        f"NodeSynth dataset '{dataset}' was not found (looked for queries.jsonl in {path} and in "
        f"{', '.join(str(base) for base in dataset_search_path())}). Build it with "
        f"`nodesynth build datasets/specs/{name}.yaml --model <model> --out datasets/{name}`, "
        f"or import a released one with `nodesynth import nodesynth-csv FILE --name {name}`."
    )


def record_to_sample(record: QueryRecord) -> Sample:
    """A query as a sample; every field is metadata, except a tone the dataset has no dimension for
    (so `failure_rate{tone=...}` appears only for datasets built with `tones:`)."""
    exclude = {"id", "input"} | ({"tone"} if record.tone is None else set())
    metadata: dict[str, Any] = record.model_dump(mode="json", exclude=exclude)
    return Sample(id=record.id, input=record.input, metadata=metadata)


def _matches(value: str | int | None, wanted: str | int | None) -> bool:
    if wanted is None:
        return True
    if value is None:
        return False
    return str(value).casefold() == str(wanted).casefold()


def load_samples(
    dataset: str,
    *,
    l1: str | None = None,
    depth: int | None = None,
    language: str | None = None,
    modality: str | None = None,
    country: str | None = None,
) -> MemoryDataset:
    """The dataset's queries as Inspect samples, filtered; every record field is sample metadata."""
    directory = resolve_dataset_dir(dataset)
    try:
        records = read_queries(directory)
    except DatasetError as error:
        raise PrerequisiteError(str(error)) from None
    chosen = [
        record
        for record in records
        if (l1 is None or _matches(record.l1, l1) or _matches(record.l1_id, l1))
        and _matches(record.depth, depth)
        and _matches(record.language, language)
        and _matches(record.modality, modality)
        and _matches(record.country, country)
    ]
    if not chosen:
        raise PrerequisiteError(
            f"no queries in {directory} match the filters "
            f"(l1={l1}, depth={depth}, language={language}, modality={modality}, country={country})."
        )
    return MemoryDataset(samples=[record_to_sample(record) for record in chosen], name=directory.name, location=str(directory))


def dataset_info(dataset: str) -> dict[str, Any]:
    """What the task records about its dataset in the log (name, build, canary, models, quality gates, spec rubric)."""
    import yaml

    directory = resolve_dataset_dir(dataset)
    info: dict[str, Any] = {"dataset": directory.name, "dataset_dir": str(directory.resolve())}
    try:
        manifest = read_manifest(directory)
        info.update(build_id=manifest.build_id, canary=manifest.canary, dataset_source=manifest.source)
        # provenance for whoever reads the log: which models wrote the queries and what the gates found
        info.update(dataset_models=manifest.models)
        if manifest.quality is not None:
            info.update(dataset_quality=manifest.quality.model_dump(exclude_none=True))
    except DatasetError:
        pass
    spec_path = directory / "spec.yaml"
    if spec_path.is_file():
        try:
            spec = yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}
            info.update(rubric=spec.get("rubric"), system_prompt=spec.get("system_prompt"))
        except yaml.YAMLError:
            pass
    return info
