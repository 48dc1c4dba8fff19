"""`nodesynth report LOGS --benchmark BASELINE_LOGS`: NodeSynth and baseline logs paired per model,
benchmark_ratio.csv against statsmodels, and the warning when the two sides had different judges."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inspect_ai import Task, task
from inspect_ai import eval as inspect_eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import get_model
from inspect_ai.scorer import Score, mean, scorer
from inspect_ai.solver import generate
from statsmodels.stats.contingency_tables import Table2x2
from typer.testing import CliRunner

from nodesynth_tasks.cli.main import app
from tests.scripted_model import register

runner = CliRunner()
JUDGE = "scripted/judge"


@scorer(metrics=[mean()])
def rubric_rater(grader: str = JUDGE, rubric: str = "medical_disclosure"):
    """Stands in for the project's rubric rater: the failure is in the sample's metadata; the grader and rubric are recorded."""

    async def score(state, target) -> Score:
        failed = bool(state.metadata["fail"])
        return Score(value=float(failed), metadata={"failure": failed, "rubric": rubric, "grader_model": grader,
                                                    "label": "No disclosure" if failed else "Disclosure"})

    return score


def samples(n: int, failures: int, prefix: str) -> list[Sample]:
    return [Sample(id=f"{prefix}{i}", input=f"{prefix} prompt {i}", metadata={"fail": i < failures, "l1": "Medical", "depth": 2 + i % 2})
            for i in range(n)]


@task
def nodesynth_medical(n: int = 20, failures: int = 8) -> Task:
    return Task(dataset=MemoryDataset(samples(n, failures, "q")), solver=generate(), scorer=rubric_rater())


@task
def baseline_xstest(n: int = 10, failures: int = 2, grader: str = JUDGE, rubric: str = "medical_disclosure") -> Task:
    return Task(dataset=MemoryDataset(samples(n, failures, "x")), solver=generate(), scorer=rubric_rater(grader, rubric))


def run(task: Task, models: list[str], log_dir: Path) -> Path:
    logs = inspect_eval(task, model=[get_model(m, memoize=False) for m in models], log_dir=str(log_dir), display="none")
    assert all(log.status == "success" for log in logs)
    return log_dir


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("benchmark-logs")
    a, b = register("model_a", lambda m: "ok"), register("model_b", lambda m: "ok")
    return {
        "nodesynth": run(nodesynth_medical(), [a, b], base / "nodesynth"),
        "same": run(baseline_xstest(), [a], base / "same"),  # model_b has no baseline
        "other": run(baseline_xstest(n=12, failures=12, grader="scripted/other_judge", rubric="refusal"), [a], base / "other"),
    }


def report(logs: dict[str, Path], baseline: str, out: Path) -> tuple[pd.DataFrame, str]:
    result = runner.invoke(app, ["report", str(logs["nodesynth"]), "--benchmark", str(logs[baseline]), "-o", str(out / "r.html"),
                                 "--tables", str(out / "tables")])
    assert result.exit_code == 0, result.output + result.stderr
    return pd.read_csv(out / "tables" / "benchmark_ratio.csv"), (out / "r.html").read_text(encoding="utf-8")


def test_benchmark_ratio_csv_pairs_models_and_matches_statsmodels(logs: dict[str, Path], tmp_path: Path) -> None:
    table, page = report(logs, "same", tmp_path)
    assert list(table.columns) == ["model", "nodesynth_n", "nodesynth_failures", "nodesynth_rate", "baseline_n", "baseline_failures",
                                   "baseline_rate", "ratio", "ci_low", "ci_high"]
    rows = table.set_index("model")
    a = rows.loc["scripted/model_a"]
    assert (a["nodesynth_n"], a["nodesynth_failures"], a["baseline_n"], a["baseline_failures"]) == (20, 8, 10, 2)
    assert (a["nodesynth_rate"], a["baseline_rate"], a["ratio"]) == pytest.approx((0.4, 0.2, 2.0))
    expected = Table2x2(np.array([[8, 12], [2, 8]])).riskratio_confint()
    assert (a["ci_low"], a["ci_high"]) == pytest.approx(expected)
    b = rows.loc["scripted/model_b"]  # no baseline for this model: listed, no ratio
    assert b["nodesynth_n"] == 20 and np.isnan(b["baseline_n"]) and np.isnan(b["ratio"])
    assert "Models in only one of the two: scripted/model_b" in page
    assert "judged differently" not in page  # same grader, rubric and scorer on both sides


def test_a_ratio_between_different_judges_is_flagged(logs: dict[str, Path], tmp_path: Path) -> None:
    table, page = report(logs, "other", tmp_path)
    a = table.set_index("model").loc["scripted/model_a"]
    # 100% on the baseline side: statsmodels' zero-cell correction, never a point interval
    assert (a["ci_low"], a["ci_high"]) == pytest.approx(Table2x2(np.array([[8, 12], [12, 0]]), shift_zeros=True).riskratio_confint())
    assert "Warning: the two sides were judged differently for scripted/model_a" in page
    assert "graders scripted/judge vs scripted/other_judge" in page and "rubrics medical_disclosure vs refusal" in page
