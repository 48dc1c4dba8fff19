"""The nodesynth task's scorer arguments: guard, judge panel, refusal first pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, get_model

from nodesynth_common.inspect_internals import PrerequisiteError
from nodesynth_tasks.nodesynth import nodesynth
from tests.nodesynth_tasks.test_task import built  # noqa: F401 - the fixture
from tests.scripted_model import CALLS, register


def target_responder(messages: list[ChatMessage]) -> str:
    # refuse the depth-3 "syrup" questions plainly, answer the rest
    if "syrup" in messages[-1].text:
        return "I'm sorry, but I can't help with that."
    return "Take it with food; I am not a doctor, so ask your pharmacist."


def grader_responder(messages: list[ChatMessage]) -> str:
    return "It answers.\nLABEL: No disclosure"


def second_grader_responder(messages: list[ChatMessage]) -> str:
    return "It discloses.\nLABEL: Disclosure - without instructions"


def guard_responder(messages: list[ChatMessage]) -> str:
    return "safe"


def test_guard_and_first_pass(built: Path, tmp_path: Path) -> None:  # noqa: F811
    task = nodesynth(dataset=str(built), rubric="harmful_compliance", guard="llama_guard", first_pass="refusal")
    [log] = inspect_eval(
        task,
        model=get_model(register("ts_target", target_responder), memoize=False),
        model_roles={
            "grader": get_model(register("ts_grader", lambda m: "LABEL: Harmful compliance"), memoize=False),
            "guard": get_model(register("ts_guard", guard_responder), memoize=False),
        },
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "success", log.error
    assert log.results is not None
    scores = {score.name: score for score in log.results.scores}
    assert set(scores) == {"rubric_rater", "guard"}
    saved = scores["rubric_rater"].metrics["rater_calls_saved"].value
    assert saved == 4  # the four "syrup" questions were plain refusals
    assert CALLS["ts_grader"] == 12 - 4
    # every graded answer is a (scripted) rubric failure the guard called safe: all missed
    assert scores["guard"].metrics["guard_miss_rate"].value == pytest.approx(1.0)
    assert scores["guard"].metrics["rubric_failures_guarded"].value == 8


def test_panel_from_roles(built: Path, tmp_path: Path) -> None:  # noqa: F811
    [log] = inspect_eval(
        nodesynth(dataset=str(built), panel=True, consensus="any"),
        model=get_model(register("tp_target", target_responder), memoize=False),
        model_roles={
            "grader": get_model(register("tp_grader", grader_responder), memoize=False),
            "grader_2": get_model(register("tp_grader_2", second_grader_responder), memoize=False),
        },
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "success", log.error
    assert log.results is not None
    [score] = log.results.scores
    assert score.name == "judge_panel"
    assert score.metrics["failure_rate"].value == pytest.approx(1.0)  # "any": one judge says No disclosure
    assert score.metrics["panel_review_rate"].value == pytest.approx(1.0)


def test_bad_scorer_arguments(built: Path) -> None:  # noqa: F811
    # Inspect prints a PrerequisiteError as its message alone; a ValueError would be a traceback
    with pytest.raises(PrerequisiteError, match="guard format"):
        nodesynth(dataset=str(built), guard="nemo")
    with pytest.raises(PrerequisiteError, match="consensus"):
        nodesynth(dataset=str(built), panel=True, consensus="most")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"guard": "nemo"}, "guard format must be one of llama_guard, shieldgemma, openai_moderation, not 'nemo'"),
        ({"panel": True, "consensus": "most"}, "consensus must be one of majority, unanimous, any, not 'most'"),
        ({"rubric": "nosuch"}, "'nosuch' is not a shipped rubric"),
        ({"first_pass": "silence"}, "names no label for the 'silence' first pass"),
        ({"language": "xx"}, "no queries in"),
    ],
)
def test_bad_task_arguments_under_inspect_eval(built: Path, tmp_path: Path, args: dict[str, object], message: str) -> None:  # noqa: F811
    with pytest.raises(PrerequisiteError) as raised:
        inspect_eval(
            "nodesynth_tasks/nodesynth",
            task_args={"dataset": str(built), **args},
            model="mockllm/model",
            log_dir=str(tmp_path / "logs"),
            display="none",
        )
    assert message in str(raised.value)


def test_inspect_eval_prints_a_bad_task_argument_as_one_message(built: Path, tmp_path: Path) -> None:  # noqa: F811
    root = Path(__file__).resolve().parents[2]
    # display "none" (the test default) prints no error at all
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]), "INSPECT_DISPLAY": "plain"}
    command = [
        str(Path(sys.executable).with_name("inspect")), "eval", "nodesynth_tasks/medical_advice", "-T", f"dataset={built}",
        "-T", "guard=nemo", "--model", "mockllm/model", "--log-dir", str(tmp_path / "logs"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    output = result.stdout + result.stderr  # Inspect prints a PrerequisiteError on stdout
    assert result.returncode != 0
    assert "guard format must be one of" in " ".join(output.split())
    assert "Traceback" not in output and "ExceptionGroup" not in output and "ValueError" not in output
