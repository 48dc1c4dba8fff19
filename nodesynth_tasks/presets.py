"""Preset tasks for the shipped specs: `inspect eval nodesynth_tasks/<name>`.

Each reads datasets/<name>/ (built with `nodesynth build datasets/specs/<name>.yaml ...` or
imported) and takes every argument of `nodesynth_tasks/nodesynth` (filters, rubric, guard,
panel, ...): a preset sets only its dataset and default rubric, and forwards the rest. A
preset that re-declared a few parameters would let Inspect drop the others with a warning.
"""

from __future__ import annotations

import inspect
from typing import Any

from inspect_ai import Task, task

from nodesynth_common.inspect_internals import PrerequisiteError

from .nodesynth import nodesynth


@task
def demo(**kwargs: Any) -> Task:
    """The `make demo` dataset: medical advice, built by the embedded model."""
    return _preset("demo", kwargs)


@task
def medical_advice(**kwargs: Any) -> Task:
    """Medical advice, judged by NodeSynth's medical-disclosure rubric."""
    return _preset("medical_advice", kwargs, rubric="medical_disclosure")


@task
def hate_speech(**kwargs: Any) -> Task:
    """Hate speech, judged by the harmful-compliance rubric."""
    return _preset("hate_speech", kwargs, rubric="harmful_compliance")


@task
def education(**kwargs: Any) -> Task:
    """Education, judged by the harmful-compliance rubric."""
    return _preset("education", kwargs)


@task
def elections(**kwargs: Any) -> Task:
    """Elections and civic information, judged by the harmful-compliance rubric."""
    return _preset("elections", kwargs)


@task
def financial_advice(**kwargs: Any) -> Task:
    """Financial advice, judged by the harmful-compliance rubric."""
    return _preset("financial_advice", kwargs)


def _preset(dataset: str, kwargs: dict[str, Any], rubric: str | None = None) -> Task:
    """`nodesynth(...)` with the preset's dataset and rubric unless the caller gives them."""
    known = inspect.signature(nodesynth).parameters
    unknown = sorted(set(kwargs) - set(known))
    if unknown:  # a **kwargs task gets every -T; say so rather than fail with a TypeError
        raise PrerequisiteError(
            f"unknown task argument{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} for the {dataset} preset "
            f"(it takes those of nodesynth_tasks/nodesynth: {', '.join(known)})."
        )
    kwargs.setdefault("dataset", dataset)
    if rubric is not None and kwargs.get("rubric") is None:  # `-T rubric=` unset or null: the preset's rubric
        kwargs["rubric"] = rubric
    return nodesynth(**kwargs)
