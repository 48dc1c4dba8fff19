"""Preset tasks forward every argument of `nodesynth()`; they set only their dataset and rubric."""

from __future__ import annotations

import functools
import inspect
import shutil
from pathlib import Path
from typing import Any

import pytest
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, ModelOutput, ModelUsage, get_model

from nodesynth_common.inspect_internals import PrerequisiteError
from nodesynth_tasks import presets
from nodesynth_tasks.nodesynth import nodesynth
from tests.nodesynth_tasks.test_task import built  # noqa: F401 - the fixture

PRESETS = {
    "demo": None,
    "medical_advice": "medical_disclosure",
    "hate_speech": "harmful_compliance",
    "education": None,
    "elections": None,
    "financial_advice": None,
}
"""Every preset, with the rubric it sets when the caller gives none."""


@pytest.fixture
def forwarded(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the presets pass to `nodesynth()` (which is not called: no dataset needed)."""
    calls: list[dict[str, Any]] = []

    @functools.wraps(nodesynth)
    def spy(**kwargs: Any) -> Task:
        calls.append(kwargs)
        return Task()

    monkeypatch.setattr(presets, "nodesynth", spy)
    return calls


def test_the_preset_list_is_complete() -> None:
    registered = {name for name, value in vars(presets).items() if callable(value) and hasattr(value, "__registry_info__")}
    assert registered - {"nodesynth"} == set(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_takes_every_nodesynth_argument(name: str, forwarded: list[dict[str, Any]]) -> None:
    preset = getattr(presets, name)
    # Inspect passes every -T to a task with **kwargs, and warns "not used" for none
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(preset).parameters.values())
    every = {param: f"value of {param}" for param in inspect.signature(nodesynth).parameters}
    assert len(every) == 14
    preset(**every)
    assert forwarded == [every]  # all forwarded as given, the caller's dataset and rubric included


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_sets_only_its_dataset_and_rubric(name: str, forwarded: list[dict[str, Any]]) -> None:
    preset = getattr(presets, name)
    preset()
    preset(guard="llama_guard", panel=True, country="India")
    preset(rubric="stereotyping")
    default_rubric = {"rubric": PRESETS[name]} if PRESETS[name] else {}
    assert forwarded == [
        {"dataset": name, **default_rubric},
        {"dataset": name, **default_rubric, "guard": "llama_guard", "panel": True, "country": "India"},
        {"dataset": name, "rubric": "stereotyping"},
    ]


def test_an_unknown_argument_is_a_prerequisite_error(forwarded: list[dict[str, Any]]) -> None:
    with pytest.raises(PrerequisiteError, match=r"unknown task argument 'contry' for the education preset .*country"):
        presets.education(contry="India")
    assert forwarded == []


def _mock(name: str, reply: str) -> Any:
    def respond(messages: list[ChatMessage], *_: Any) -> ModelOutput:
        output = ModelOutput.from_content(model=name, content=reply)
        output.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)  # no tiktoken download
        return output

    return get_model(name, custom_outputs=respond, memoize=False)


def test_guard_panel_and_filters_reach_the_preset_task(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    shutil.copytree(built, tmp_path / "search" / "medical_advice")
    monkeypatch.setenv("NODESYNTH_DATASETS", str(tmp_path / "search"))
    label = "LABEL: Disclosure - with instructions"
    [log] = inspect_eval(
        "nodesynth_tasks/medical_advice",  # as `inspect eval nodesynth_tasks/medical_advice -T ...`
        task_args={"guard": "llama_guard", "panel": True, "depth": 2},
        model=_mock("mockllm/model", "I am not a doctor; ask your pharmacist."),
        model_roles={
            "grader": _mock("mockllm/model", label),
            "grader_2": _mock("mockllm/model", label),
            "guard": _mock("mockllm/model", "safe"),
        },
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "success", log.error
    assert log.eval.task_args == {"guard": "llama_guard", "panel": True, "depth": 2}
    assert log.results is not None
    assert [score.name for score in log.results.scores] == ["judge_panel", "guard"]
    assert log.results.total_samples == 4  # depth=2 of the 12 queries
    assert log.eval.metadata is not None and log.eval.metadata["rubric"] == "medical_disclosure"  # the preset's
    assert log.eval.metadata["dataset"] == "medical_advice"
