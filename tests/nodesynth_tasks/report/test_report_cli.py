"""`nodesynth report` over real logs: the HTML, the CSV tables, and one-sentence errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from nodesynth_tasks.cli.main import app
from tests.nodesynth_tasks.report.logs import ReportLogs

runner = CliRunner()


def said(result) -> str:
    return " ".join(result.stderr.split())


def test_report_with_benchmark_and_tables(report_logs: ReportLogs, tmp_path: Path) -> None:
    out, tables = tmp_path / "out" / "report.html", tmp_path / "tables"
    result = runner.invoke(app, ["report", str(report_logs.nodesynth_dir), "--benchmark", str(report_logs.benchmark_dir),
                                 "-o", str(out), "--tables", str(tables), "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["scorer"] == "rubric_rater" and summary["scored"] == 3 * 55 and summary["charts"] >= 10
    for name in ("by_model", "depth_ablation", "by_l1", "by_l2", "depth_tests", "slice_gaps", "failure_ngrams",
                 "benchmark_ratio", "intersection_l2_demographic", "intersection_l2_occupation",
                 "intersection_user_group_demographic", "dataset_flows", "taxonomy_tree", "tidy"):
        assert (tables / f"{name}.csv").is_file(), name
    assert list(pd.read_csv(tables / "depth_ablation.csv").columns) == ["model", "depth", "n", "failures", "rate", "ci_low", "ci_high"]
    tidy = pd.read_csv(tables / "tidy.csv")
    assert len(tidy) == 3 * 56 + 3 * 10 and json.loads(tidy["demographics"].iloc[0])  # lists as JSON

    page = out.read_text(encoding="utf-8")
    # self-contained: plotly.js inlined once, and outside it nothing that would fetch a file
    bundle = re.search(r'<script type="text/javascript">(.*?)</script>', page, re.DOTALL)
    assert bundle is not None and "plotly.js v" in bundle.group(1)[:2000]
    rest = page[: bundle.start()] + page[bundle.end():]
    assert "plotly.js v" not in rest and rest.count('id="report-figures"') == 1
    assert not re.search(r"<script[^>]*\bsrc=", rest) and "<link" not in rest and "@font-face" not in rest
    assert not re.search(r"""(?:src|href)=["']?https?://""", rest) and "url(" not in rest
    figures = json.loads(re.search(r'<script type="application/json" id="report-figures">(.*?)</script>', page, re.DOTALL)
                         .group(1).replace("<\\/", "</"))
    assert len(figures) == summary["charts"] and {"by_model", "depth_ablation", "benchmark_ratio"} <= set(figures)


def test_bad_inputs_are_one_sentence_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    not_a_log = tmp_path / "results.csv"
    not_a_log.write_text("a,b\n1,2\n")
    cases = [
        ([str(tmp_path / "nowhere")], "nowhere: no such file or directory"),
        ([str(empty)], "empty: the directory holds no Inspect logs"),
        ([str(not_a_log)], "results.csv: not an Inspect log"),
        (["--results", "parquet", str(not_a_log)], "--results 'parquet': unknown format"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["report", *args, "-o", str(tmp_path / "r.html")])
        assert result.exit_code == 2, args
        assert message in said(result) and "Traceback" not in result.output + result.stderr
        assert result.stderr.count("error:") == 1 and said(result).endswith(".")  # one sentence
    assert not (tmp_path / "r.html").exists()


def test_unknown_scorer(report_logs: ReportLogs, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(report_logs.nodesynth_dir), "--scorer", "nope", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "scorer 'nope' is not in these logs" in said(result)
