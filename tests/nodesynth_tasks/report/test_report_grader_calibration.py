"""The grader's agreement with human labels stands beside every rate it produced, in words when near chance."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nodesynth_common.grader_calibration import SHIPPED_RECORDS, GraderCalibration, load_records, read_record
from nodesynth_tasks.cli.main import app
from nodesynth_tasks.report import ReportOptions, build_views, tidy_table
from nodesynth_tasks.report.views import key_findings
from nodesynth_tasks.report.views.build import RATE_SECTIONS
from tests.nodesynth_tasks.report.logs import ReportLogs

runner = CliRunner()


def record(grader: str, kappa: float | None, low: float | None, high: float | None) -> GraderCalibration:
    return GraderCalibration(grader=grader, scorer="over_refusal", file="xstest_v2_completions_gpt4.csv", n=40,
                             accuracy=0.5, kappa=kappa, kappa_ci_low=low, kappa_ci_high=high, constrained=True)


@pytest.fixture(scope="module")
def tidy(report_logs: ReportLogs) -> pd.DataFrame:
    return tidy_table(report_logs.nodesynth_dir)


def the_grader(tidy: pd.DataFrame) -> str:
    graders = tidy[(tidy["scorer"] == "rubric_rater") & tidy["failure"].notna()]["grader_model"].dropna().unique()
    assert len(graders) == 1
    return str(graders[0])


@pytest.mark.parametrize(
    ("kappa", "low", "high", "judgement"),
    [(0.0, -0.1, 0.1, "near chance"), (None, None, None, "near chance"), (0.35, 0.05, 0.6, "weak"),
     (0.3, -0.02, 0.6, "near chance"), (0.8, 0.7, 0.9, "substantial")],
)
def test_judgement_follows_kappa_and_its_interval(kappa, low, high, judgement) -> None:
    assert record("g", kappa, low, high).judgement == judgement


def test_a_near_chance_grader_is_named_beside_every_rate(tidy: pd.DataFrame) -> None:
    grader = the_grader(tidy)
    s, views = build_views(tidy, ReportOptions(calibrations=[record(grader, 0.02, -0.2, 0.24)]))
    rate_views = [view for view in views if view.section in RATE_SECTIONS]
    assert len(rate_views) >= 5
    for view in rate_views:
        assert view.note is not None and "near chance" in view.note and grader in view.note, view.key
    [shown] = [view for view in views if view.key == "grader_calibration"]
    table = shown.tables["grader_calibration"]
    assert list(table["grader"]) == [grader] and list(table["judgement"]) == ["near chance"]
    assert any("near chance" in finding for finding in key_findings(views, s))
    # the dataset views describe the queries, not the grader's verdicts
    assert all("near chance" not in (view.note or "") for view in views if view.section == "The dataset")


def test_no_record_no_caveat_and_the_view_says_how_to_measure(tidy: pd.DataFrame) -> None:
    _, views = build_views(tidy, ReportOptions(calibrations=[record("someone/else", 0.9, 0.8, 1.0)]))
    assert all("near chance" not in (view.note or "") for view in views)
    [shown] = [view for view in views if view.key == "grader_calibration"]
    assert not shown.tables and shown.note is not None and "nodesynth calibrate" in shown.note
    assert the_grader(tidy) in shown.note


def test_the_cli_reads_a_calibrate_json_record(report_logs: ReportLogs, tidy: pd.DataFrame, tmp_path: Path) -> None:
    summary = {**record(the_grader(tidy), 0.0, -0.3, 0.3).model_dump(), "unscored": 0, "slices": {}, "baselines": {}}
    path = tmp_path / "record.json"
    path.write_text(json.dumps(summary))
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(report_logs.nodesynth_dir), "--calibration", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    html = out.read_text()
    assert "Grader calibration against human labels" in html and html.count("near chance") >= 5


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not JSON"), ('{"scorer": "refusal", "n": 3}', "field 'grader': missing"),
     ('{"grader": "g", "scorer": "r", "file": "f", "n": "many", "accuracy": 0.5, "kappa": 0.1}', "field 'n'")],
)
def test_a_bad_record_is_one_line_before_any_log_is_read(report_logs: ReportLogs, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = runner.invoke(app, ["report", str(report_logs.nodesynth_dir), "--calibration", str(path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "bad.json" in result.stderr and message in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "r.html").exists()


def test_the_shipped_records_read() -> None:
    records = load_records()
    assert records, "nodesynth_common/calibration_records/ ships the embedded grader's measured agreement"
    embedded = [r for r in records if r.grader == "nodesynth/smollm2"]
    assert embedded and all(r.n >= 40 and r.scorer == "over_refusal" for r in embedded)
    for path in sorted(SHIPPED_RECORDS.glob("*.json")):
        assert read_record(path) in records


def test_a_record_from_another_rubric_says_so(tidy: pd.DataFrame) -> None:
    rubrics = {m.get("rubric") for m in tidy[tidy["scorer"] == "rubric_rater"]["score_metadata"] if isinstance(m, dict)}
    assert "over_refusal" not in rubrics  # the test logs use another rubric than the record's
    _, views = build_views(tidy, ReportOptions(calibrations=[record(the_grader(tidy), 0.4, 0.25, 0.55)]))
    [shown] = [view for view in views if view.key == "grader_calibration"]
    assert shown.note is not None and "Measured with rubric over_refusal" in shown.note and "weak" in shown.note
