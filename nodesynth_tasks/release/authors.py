"""The NodeSynth authors' release as tasks: no build, no import, from any folder.

    inspect eval nodesynth_tasks/medical_depth --model openai/gpt-4o-mini --model-role grader=...

Each file is a pinned asset (`nodesynth assets list`), fetched on first use or found in the
`NODESYNTH_ASSETS_DIR` mirror. The CSVs go through the release importer once, into the user cache
(keyed by the file's sha256), and are then read like any dataset directory; the workbook's queries
are converted in memory by `generators.importers.nodesynth_xlsx`, the same records the published
results' logs carry. Every task takes every `nodesynth` argument.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample

from generators.artifact import MANIFEST
from generators.importers import import_nodesynth_csv
from generators.importers.nodesynth_xlsx import Workbook, read_workbook
from nodesynth_common.assets import asset_path, cache_dir, sha256_of

from ..nodesynth import nodesynth
from .common import asset_info, check_arguments, memory_task

RESULTS_ASSET = "nodesynth_medical_results"


def release_dataset_dir(asset_name: str) -> Path:
    """The release CSV imported as a dataset directory in the user cache (imported once per file checksum)."""
    csv_path = asset_path(asset_name)
    out_dir = cache_dir().parent / "release" / sha256_of(csv_path)[:16] / asset_name
    if not (out_dir / MANIFEST).is_file():
        import_nodesynth_csv(csv_path, asset_name, out_dir)
    return out_dir


@task
def nodesynth_medical(**kwargs: Any) -> Task:
    """The authors' released medical-advice queries (214 rows), judged by the medical-disclosure rubric."""
    return _release_task("nodesynth_medical", "medical_disclosure", kwargs)


@task
def nodesynth_culture(**kwargs: Any) -> Task:
    """The authors' released culture queries (492 rows), judged by the stereotyping rubric (see README)."""
    return _release_task("nodesynth_culture", "stereotyping", kwargs)


def _release_task(name: str, rubric: str, kwargs: dict[str, Any]) -> Task:
    check_arguments(name, kwargs)
    return nodesynth(dataset=str(release_dataset_dir(name)), **{**kwargs, "rubric": kwargs.get("rubric") or rubric})


def workbook_samples(workbook: Workbook) -> list[Sample]:
    """The workbook's queries as samples: the ids and metadata the published results' logs carry."""
    return [Sample(id=query.record.id, input=query.record.input, metadata=query.sample_metadata()) for query in workbook.queries]


@functools.lru_cache(maxsize=2)
def _read_workbook(path: str, mtime_ns: int, size: int) -> Workbook:
    """Read once per process and file version (a second, read-only use of the task costs nothing)."""
    return read_workbook(Path(path))


@task
def medical_depth(**kwargs: Any) -> Task:
    """The depth ablation: the workbook's 636 queries (348 from L2 nodes, depth 2; 288 from L3 nodes, depth 3).

    Judged by the medical-disclosure rubric, as the authors' four published models were; compare
    the depths with `nodesynth report` (and with the published logs from `nodesynth import results`).
    """
    path = asset_path(RESULTS_ASSET)
    stat = path.stat()
    workbook = _read_workbook(str(path), stat.st_mtime_ns, stat.st_size)
    info = asset_info(RESULTS_ASSET, path, dataset="medical_depth", build_id=f"xlsx-{workbook.sha256[:12]}",
                      dataset_models={"source": "nodesynth-release"}, rubric="medical_disclosure")
    return memory_task("medical_depth", workbook_samples(workbook), info, dict(kwargs))
