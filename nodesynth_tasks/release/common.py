"""What the release and baseline tasks share: `nodesynth`'s arguments, forwarded and checked, over samples in memory."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from inspect_ai import Task
from inspect_ai.dataset import MemoryDataset, Sample

from nodesynth_common.errors import NodeSynthError
from nodesynth_common.inspect_internals import PrerequisiteError

from ..nodesynth import nodesynth, nodesynth_task

FILTERS = ("l1", "depth", "language", "modality", "country")


class TaskArgumentError(NodeSynthError, PrerequisiteError):
    """A `-T` argument a release or baseline task cannot take (shown by `inspect eval` as one line)."""


def check_arguments(task: str, kwargs: dict[str, Any], own: Iterable[str] = ()) -> None:
    """Every `-T` name must be one `nodesynth` takes (or one of the task's own); `dataset` is fixed by the task."""
    if "dataset" in kwargs:
        raise TaskArgumentError(
            f"{task} reads a pinned public file, so it takes no dataset; use nodesynth_tasks/nodesynth -T dataset=... for your own."
        )
    known = set(inspect.signature(nodesynth).parameters) - {"dataset"}
    unknown = sorted(set(kwargs) - known - set(own))
    if unknown:
        takes = ", ".join(sorted(known | set(own)))
        raise TaskArgumentError(f"{task} takes no argument {', '.join(map(repr, unknown))} (it takes {takes}).")


def _matches(value: Any, wanted: Any) -> bool:
    """`load_samples`' rule: case-insensitive equality of the text; no filter keeps everything."""
    if wanted is None:
        return True
    return value is not None and str(value).casefold() == str(wanted).casefold()


def memory_task(
    task: str, samples: list[Sample], info: dict[str, Any], kwargs: dict[str, Any],
    where: Callable[[dict[str, Any]], bool] | None = None,
) -> Task:
    """`nodesynth_task` over `samples`, filtered by `nodesynth`'s filters (l1 matches the label or its id)."""
    check_arguments(task, kwargs)
    filters = {key: kwargs.pop(key, None) for key in FILTERS}
    chosen = [
        sample for sample in samples
        if (where is None or where(sample.metadata or {}))
        and all(
            _matches((sample.metadata or {}).get(key), wanted)
            or (key == "l1" and _matches((sample.metadata or {}).get("l1_id"), wanted))
            for key, wanted in filters.items()
        )
    ]
    if not chosen:
        shown = ", ".join(f"{key}={value}" for key, value in filters.items() if value is not None)
        raise TaskArgumentError(f"no {task} samples match the filters ({shown}).")
    dataset = MemoryDataset(samples=chosen, name=info.get("dataset", task), location=info.get("dataset_dir"))
    return nodesynth_task(dataset, info, **kwargs)


def asset_info(asset_name: str, path: Any, **extra: Any) -> dict[str, Any]:
    """Task metadata naming the pinned file the samples came from."""
    from nodesynth_common.assets import get_asset, sha256_of

    asset = get_asset(asset_name)
    return {"dataset": asset_name, "dataset_dir": str(path), "dataset_source": asset.url(), "dataset_sha256": sha256_of(path),
            "dataset_licence": asset.licence, "dataset_citation": asset.citation, **extra}
