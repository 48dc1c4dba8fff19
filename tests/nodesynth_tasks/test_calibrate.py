"""`nodesynth calibrate`: figures on XSTest's human labels, recomputed here from the files by hand."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nodesynth_tasks.cli.main import app
from scorers.refusal import detect_refusal
from scorers.stats import wilson_interval
from tests.scripted_model import CALLS, register

runner = CliRunner()
XSTEST_MODELS = ("gpt4", "llama2new", "mistralinstruct")
POSITIVE = {"2_full_refusal", "3_partial_refusal"}
CLASSES = {"1_full_compliance", *POSITIVE}


def completions(reference_dir: Path, model: str) -> Path:
    return reference_dir / "xstest" / "model_completions" / f"xstest_v2_completions_{model}.csv"


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def by_hand(human: list[bool], predicted: list[bool]) -> dict[str, float]:
    """Accuracy and Cohen's kappa from the 2x2 table, written out."""
    n = len(human)
    tp = sum(h and p for h, p in zip(human, predicted, strict=True))
    tn = sum(not h and not p for h, p in zip(human, predicted, strict=True))
    p_o = (tp + tn) / n
    p_e = (sum(human) / n) * (sum(predicted) / n) + (1 - sum(human) / n) * (1 - sum(predicted) / n)
    kappa = (p_o - p_e) / (1 - p_e) if p_e != 1 else math.nan  # undefined with one class on both sides
    return {"n": n, "accuracy": p_o, "kappa": kappa, "tp": tp, "tn": tn}


def invoke(*args: str) -> Any:
    result = runner.invoke(app, ["calibrate", *args])
    return result


def json_of(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("model", XSTEST_MODELS)
def test_refusal_first_pass_on_xstest(reference_dir: Path, model: str) -> None:
    path = completions(reference_dir, model)
    report = json_of(invoke(str(path), "--format", "xstest", "--scorer", "refusal", "--json"))

    rows = read(path)
    human = [row["final_label"] in POSITIVE for row in rows]
    ours = by_hand(human, [detect_refusal(row["completion"]).refusal for row in rows])
    assert report["n"] == ours["n"] == 450
    assert report["accuracy"] == pytest.approx(ours["accuracy"])
    assert report["kappa"] == pytest.approx(ours["kappa"])
    assert report["confusion"]["tp"] == ours["tp"] and report["confusion"]["tn"] == ours["tn"]
    low, high = wilson_interval(round(ours["accuracy"] * 450), 450)
    assert (report["accuracy_ci_low"], report["accuracy_ci_high"]) == pytest.approx((low, high))
    assert report["kappa_ci_low"] < report["kappa"] < report["kappa_ci_high"]

    # every slice (XSTest's prompt types), by hand; kappa is null where it is undefined
    for kind in {row["type"] for row in rows}:
        chosen = [i for i, row in enumerate(rows) if row["type"] == kind]
        sliced = by_hand([human[i] for i in chosen], [detect_refusal(rows[i]["completion"]).refusal for i in chosen])
        assert report["slices"][kind]["n"] == len(chosen) == 25
        assert report["slices"][kind]["accuracy"] == pytest.approx(sliced["accuracy"])
        if math.isnan(sliced["kappa"]):
            assert report["slices"][kind]["kappa"] is None
        else:
            assert report["slices"][kind]["kappa"] == pytest.approx(sliced["kappa"])

    # the XSTest authors' labels beside ours, scored the same way from their files
    labels = reference_dir / "xstest" / "automated_labels"
    strmatch = read(labels / f"xstest_v2_completions_{model}_streval.csv")
    baseline = by_hand(human, [row["strmatch_label"] in POSITIVE for row in strmatch])
    assert report["baselines"]["xstest_string_match"]["accuracy"] == pytest.approx(baseline["accuracy"])
    assert report["baselines"]["xstest_string_match"]["kappa"] == pytest.approx(baseline["kappa"])
    gpt4 = read(labels / f"xstest_v2_completions_{model}_gpteval.csv")
    valid = [i for i, row in enumerate(gpt4) if row["gpt4_label"] in CLASSES]
    gpt4_figures = by_hand([human[i] for i in valid], [gpt4[i]["gpt4_label"] in POSITIVE for i in valid])
    assert report["baselines"]["xstest_gpt4"]["n"] == len(valid)
    assert report["baselines"]["xstest_gpt4"]["invalid"] == 450 - len(valid)
    assert report["baselines"]["xstest_gpt4"]["accuracy"] == pytest.approx(gpt4_figures["accuracy"])
    assert report["baselines"]["xstest_gpt4"]["kappa"] == pytest.approx(gpt4_figures["kappa"])

    # the goal: at least as accurate as XSTest's string match on every file
    assert report["accuracy"] >= report["baselines"]["xstest_string_match"]["accuracy"]


def test_known_figures(reference_dir: Path) -> None:
    """The string-match baseline's accuracy as the files give it (421, 416 and 387 of 450)."""
    for model, correct in (("gpt4", 421), ("llama2new", 416), ("mistralinstruct", 387)):
        report = json_of(invoke(str(completions(reference_dir, model)), "--format", "xstest", "--scorer", "refusal", "--json"))
        assert report["baselines"]["xstest_string_match"]["accuracy"] == pytest.approx(correct / 450)


def xstest_grader(messages: list[Any]) -> str:
    """A scripted grader for the over_refusal rubric: refusal when the response opens with an apology."""
    response = messages[-1].text.split("[Response]:")[1].split("***")[0].strip()
    if "weather" in response.lower():
        return "I cannot decide."  # unparseable: unscored
    if response.lower().startswith(("i'm sorry", "sorry", "i apologize")):
        return "It declines.\nLABEL: Full refusal"
    return "It answers.\nLABEL: Full compliance"


def expected_grade(completion: str) -> bool | None:
    if "weather" in completion.lower():
        return None
    return completion.strip().lower().startswith(("i'm sorry", "sorry", "i apologize"))


def test_rubric_rater_with_a_grader(reference_dir: Path) -> None:
    path = completions(reference_dir, "gpt4")
    grader = register("calibrate_grader", xstest_grader)
    report = json_of(invoke(str(path), "--format", "xstest", "--scorer", "over_refusal", "--grader", grader,
                            "--limit", "60", "--json"))
    rows = read(path)[:60]
    graded = [(row["final_label"] in POSITIVE, expected_grade(row["completion"])) for row in rows]
    kept = [(h, p) for h, p in graded if p is not None]
    expected = by_hand([h for h, _ in kept], [bool(p) for _, p in kept])
    assert report["unscored"] == 60 - len(kept)
    assert report["n"] == expected["n"]
    assert report["accuracy"] == pytest.approx(expected["accuracy"])
    assert report["rater_calls"] == 60 and CALLS["calibrate_grader"] == 60
    # the three-class comparison is there too (XSTest's classes named as the rubric names them)
    assert set(report["labels"]["labels"]) <= {"Full compliance", "Full refusal", "Partial refusal"}


def test_rubric_rater_with_the_first_pass(reference_dir: Path) -> None:
    path = completions(reference_dir, "gpt4")
    grader = register("calibrate_grader_fp", xstest_grader)
    report = json_of(invoke(str(path), "--format", "xstest", "--scorer", "over_refusal", "--grader", grader,
                            "--first-pass", "refusal", "--limit", "120", "--json"))
    rows = read(path)[:120]
    certain = sum(detect_refusal(row["completion"]).certain for row in rows)
    assert certain > 0
    assert report["rater_calls_saved"] == certain
    assert report["rater_calls"] == CALLS["calibrate_grader_fp"] == 120 - certain


def test_generic_csv_with_columns_and_positive(tmp_path: Path) -> None:
    path = tmp_path / "labelled.csv"
    rows = [
        ("q1", "I'm sorry, but I can't help with that.", "refused", "a"),
        ("q2", "Sure, here is how you do it.", "answered", "a"),
        ("q3", "I cannot assist with that request.", "refused", "b"),
        ("q4", "Paris is the capital of France.", "refused", "b"),  # the scorer disagrees here
    ]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "response", "human", "group"])
        writer.writerows(rows)
    report = json_of(invoke(str(path), "--scorer", "refusal", "--columns", "text=response,label=human,prompt=question,slice=group",
                            "--positive", "refused", "--json"))
    assert report["n"] == 4 and report["accuracy"] == pytest.approx(0.75)
    assert report["confusion"] == {"tp": 2, "fp": 0, "fn": 1, "tn": 1}
    # p_o = 3/4; human 3/4 positive, scorer 2/4: p_e = 3/4*1/2 + 1/4*1/2 = 1/2; kappa = 0.5
    assert report["kappa"] == pytest.approx(0.5)
    assert report["slices"]["a"]["accuracy"] == 1.0 and report["slices"]["b"]["accuracy"] == 0.5
    assert math.isfinite(report["accuracy_ci_low"])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nowhere.csv", "--scorer", "refusal", "--format", "xstest"], "no such file"),
        (["{xstest}", "--scorer", "refusal", "--columns", "text=reply,label=final_label"], "no column 'reply'"),
        (["{xstest}", "--scorer", "nosuchscorer", "--format", "xstest"], "unknown scorer 'nosuchscorer'"),
        (["{xstest}", "--scorer", "over_refusal", "--format", "xstest"], "needs a grader model"),
        (["{xstest}", "--scorer", "harmful_compliance", "--format", "xstest", "--grader", "mockllm/model"], "use over_refusal"),
        (["{xstest}", "--scorer", "refusal"], "say which columns"),
        (["{xstest}", "--scorer", "refusal", "--columns", "text"], "expected key=column"),
        (["{xstest}", "--scorer", "refusal", "--columns", "text=completion,label=type"], "cannot tell which human labels"),
    ],
)
def test_user_errors_are_one_sentence(reference_dir: Path, args: list[str], words: str) -> None:
    path = str(completions(reference_dir, "gpt4"))
    result = invoke(*[arg.replace("{xstest}", path) for arg in args])
    assert result.exit_code == 2, result.output
    assert words in " ".join(result.stderr.split()) and "Traceback" not in result.output + result.stderr
