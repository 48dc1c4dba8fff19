"""The report in a real browser: Debian's chromium, headless, over the DevTools protocol.

Asserts that the page logs no error, that every chart rendered (plotly drew an SVG with
marks in it), and that the page fetched nothing but itself; saves a full-page screenshot.
Nothing is installed here: without /usr/bin/chromium the test skips and says how to get it
(`.ci/run` installs it, so CI always runs it). Set REPORT_SCREENSHOT_DIR to keep the PNGs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nodesynth_common.grader_calibration import GraderCalibration
from nodesynth_tasks.report import ReportOptions, tidy_table, write_report, xlsx_table
from tests.nodesynth_tasks.report.logs import ReportLogs

pytest.importorskip("websocket", reason="websocket-client is missing: install the dev extras (pip install -e '.[dev]')")

from tests.browser import CHROMIUM, Browser

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no browser at {CHROMIUM}: install Debian's chromium (apt-get install -y chromium) to run the browser test",
)

READY = "document.body && document.body.dataset.chartsDone === 'true'"
CHART_STATE = """
Array.from(document.querySelectorAll('div.chart')).map(function (el) {
  var svg = el.querySelector('svg.main-svg');
  var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {key: el.dataset.chart, rendered: el.dataset.rendered || null, width: box.width, height: box.height,
          marks: el.querySelectorAll('path, rect, text').length};
})
"""


def open_and_check(html: Path, screenshot: Path) -> list[dict]:
    """Open the report, assert it is clean and fully drawn, save a screenshot; the charts' state."""
    with Browser(width=1280, height=900) as browser:
        browser.open(html.resolve().as_uri(), ready=READY)
        status = browser.evaluate("window.__report")
        charts = browser.evaluate(CHART_STATE)
        title = browser.evaluate("document.title")
        browser.screenshot(screenshot)
        log = browser.log
    assert log.errors == [], log.errors
    assert status["errors"] == [] and status["rendered"] == status["total"] == len(charts) > 0, status
    for chart in charts:
        assert chart["rendered"] == "true", chart
        assert chart["width"] > 300 and chart["height"] > 150 and chart["marks"] > 10, chart
    # self-contained: the page itself, and data: URLs plotly makes in memory; nothing from a network
    assert all(url.split(":", 1)[0] in ("file", "data", "blob", "about") for url in log.requests), log.requests
    assert title
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    keep = os.environ.get("REPORT_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(keep) / screenshot.name)
    return charts


def test_report_from_logs_renders_every_chart(report_logs: ReportLogs, panel_logs: Path, tmp_path: Path) -> None:
    """Three models, a judge panel with a guard, and a benchmark: every view has a chart."""
    results = tidy_table([report_logs.nodesynth_dir, panel_logs])
    bench = tidy_table(report_logs.benchmark_dir, suite="benchmark")
    graders = results[results["scorer"] == "rubric_rater"]["grader_model"].dropna().unique()
    records = [GraderCalibration(grader=str(g), scorer="over_refusal", file="xstest.csv", n=100, accuracy=0.69,
                                 kappa=0.38, kappa_ci_low=0.24, kappa_ci_high=0.52) for g in graders]
    options = ReportOptions(min_slice_n=10, calibrations=records)
    written = write_report(results, tmp_path / "report.html", benchmark=bench, options=options)
    assert written.charts == written.views  # nothing degraded to a note here
    charts = open_and_check(written.html, tmp_path / "report-logs.png")
    assert {c["key"] for c in charts} >= {
        "by_model", "grader_calibration", "l1_radar", "l1_heatmap", "by_l2", "depth_ablation", "intersection_l2_demographic",
        "intersection_l2_occupation", "intersection_user_group_demographic", "dataset_flows", "taxonomy_sunburst",
        "failure_ngrams", "slice_gaps", "judge_agreement", "guard_miss_rate", "benchmark_ratio",
    }


def test_report_from_the_workbook_renders(reference_dir: Path, tmp_path: Path) -> None:
    table = xlsx_table(reference_dir / "nodesynth" / "Nodesynth_Medical_L2_L3.xlsx")
    written = write_report(table, tmp_path / "workbook.html")
    charts = open_and_check(written.html, tmp_path / "report-workbook.png")
    assert len(charts) == written.charts >= 12


def test_a_report_without_optional_scorers_still_renders(report_logs: ReportLogs, tmp_path: Path) -> None:
    """No panel, guard or benchmark: those sections explain themselves and the rest draws."""
    written = write_report(tidy_table(report_logs.nodesynth_dir), tmp_path / "plain.html")
    page = written.html.read_text(encoding="utf-8")
    assert "No benchmark logs were given" in page and "No guard-model scorer ran" in page
    open_and_check(written.html, tmp_path / "report-plain.png")
