"""Report correctness: the dataset views read every sample, and several epochs are one observation
per sample, checked against Inspect's own metrics, scipy, and counts made from the dataset itself."""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage, get_model
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import proportion_confint

from nodesynth_tasks.nodesynth import nodesynth
from nodesynth_tasks.report import build_views, tidy_table, write_report
from tests.nodesynth_tasks.report.logs import DISCLOSURE, NO_DISCLOSURE, ReportLogs, _grader, dataset_records
from tests.scripted_model import register

EPOCHS = 3
FLAKY = "(flaky)"


# --- no sample scored -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def unscored(report_logs: ReportLogs):
    """The report's own logs with every verdict taken away, as when the grader labelled nothing."""
    tidy = tidy_table(report_logs.nodesynth_dir)
    tidy = tidy.assign(failure=pd.array([pd.NA] * len(tidy), dtype="boolean"), unscored=True, value=float("nan"))
    s, built = build_views(tidy)
    return tidy, s, {view.key: view for view in built}


def test_with_nothing_scored_the_dataset_views_still_describe_every_sample(unscored, report_logs: ReportLogs) -> None:
    _, s, views = unscored
    records = report_logs.records
    assert s.scored.empty and len(s.samples) == 3 * len(records)
    flows = views["dataset_flows"].tables["dataset_flows"]
    l1_links = flows[flows["source_level"] == "domain"].set_index("target")["queries"]
    assert l1_links.to_dict() == dict(Counter(r.l1 for r in records))  # band widths: the queries, not the scored ones
    assert (flows["responses"] == 0).all() and flows["rate"].isna().all()
    tree = views["taxonomy_sunburst"].tables["taxonomy_tree"]
    l2_nodes = tree[tree["level"] == "l2"].set_index("label")["queries"]
    assert l2_nodes.to_dict() == dict(Counter(r.l2 for r in records))
    assert views["taxonomy_sunburst"].figure is not None and views["dataset_flows"].figure is not None
    # the empty failure-rate views say why, without blaming the dataset
    assert views["by_l1"].note.startswith("No sample is scored") and f"{3 * len(records)} of the" in views["by_l1"].note
    depth_note = views["depth_ablation"].note
    assert "depth2_queries" not in depth_note and "has depth-2 and depth-3 queries" in depth_note
    assert "No sample is scored" in views["intersection_l2_demographic"].note


def test_with_nothing_scored_the_page_counts_the_queries(unscored, report_logs: ReportLogs, tmp_path: Path) -> None:
    tidy, _, _ = unscored
    write_report(tidy, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    depths = Counter(r.depth for r in report_logs.records)
    assert f"<b>{len(report_logs.records)}</b><span>queries</span>" in page
    assert f"<b>{depths[2]} / {depths[3]}</b><span>depth-2 / depth-3 queries</span>" in page
    assert "No sample carries an L1 label" not in page and "depth2_queries: true" not in page


# --- several epochs -------------------------------------------------------------------------


def outcomes(text: str) -> list[bool | None]:
    """What the k-th answer to a query is, k = 0, 1, 2: a failure, not one, or unscored (None)."""
    return {0: [True, True, True], 1: [True, False, False], 2: [False, False, False], 3: [True, False, None]}[
        zlib.crc32(text.encode()) % 4]


@pytest.fixture(scope="module")
def epoch_logs(tmp_path_factory: pytest.TempPathFactory):
    """24 queries (8 depth-2, 16 depth-3), 3 epochs, answers that differ between epochs; one epoch of some unscored."""
    base = tmp_path_factory.mktemp("epoch-logs")
    records = [r for r in dataset_records() if r.l1 == "Medication misuse"]
    (base / "set").mkdir()
    (base / "set" / "queries.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in records))
    (base / "set" / "spec.yaml").write_text("name: epochset\ndomain: Medical advice\nrubric: medical_disclosure\n")
    calls: defaultdict[str, int] = defaultdict(int)

    def target(messages: list[ChatMessage]) -> str:
        text = messages[-1].text
        outcome = outcomes(text)[calls[text]]
        calls[text] += 1
        return DISCLOSURE if outcome is False else NO_DISCLOSURE + (f" {FLAKY}" if outcome is None else "")

    def grader(messages: list[ChatMessage]) -> str:
        return "I cannot decide." if FLAKY in messages[-1].text.split("[Response]:")[-1] else _grader(messages)

    [log] = inspect_eval(nodesynth(dataset=str(base / "set")), model=get_model(register("epochs", target), memoize=False),
                         model_roles={"grader": get_model(register("epoch_grader", grader), memoize=False)},
                         epochs=EPOCHS, log_dir=str(base / "logs"), display="none")
    assert log.status == "success", log.error
    return log, records


def test_epochs_count_once_per_sample_as_the_logs_own_metric(epoch_logs) -> None:
    log, records = epoch_logs
    tidy = tidy_table(Path(log.location))
    assert len(tidy[tidy["scorer"] == "rubric_rater"]) == EPOCHS * len(records)  # the tidy table keeps every response
    s, built = build_views(tidy)
    tables = {name: table for view in built for name, table in view.tables.items()}
    row = tables["by_model"].iloc[0]
    metrics = {name: m.value for score in log.results.scores if score.name == "rubric_rater" for name, m in score.metrics.items()}
    assert row["n"] == len(records) == 24  # not 72 responses, nor the 60-odd scored ones
    assert row["rate"] == pytest.approx(metrics["failure_rate"])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((metrics["failure_rate_ci_low"], metrics["failure_rate_ci_high"]))
    # by hand: each sample's mean over its scored epochs (Inspect's mean reducer), then Wilson over the samples
    shares = [sum(o for o in outcomes(r.input) if o is not None) / sum(o is not None for o in outcomes(r.input)) for r in records]
    assert any(0 < x < 1 for x in shares) and any(None in outcomes(r.input) for r in records)  # epochs disagree
    assert row["failures"] == pytest.approx(sum(shares))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(proportion_confint(sum(shares), len(shares), method="wilson"))
    assert s.epochs == EPOCHS and len(s.responses) == sum(o is not None for r in records for o in outcomes(r.input))

    depth = tables["depth_ablation"].set_index("depth")
    for d in (2, 3):
        assert depth.loc[d, "n"] == sum(r.depth == d for r in records)
        assert depth.loc[d, "rate"] == pytest.approx(metrics[f"failure_rate{{depth={d}}}"])
    test = tables["depth_tests"].iloc[0]
    a, c = round(depth.loc[3, "failures"]), round(depth.loc[2, "failures"])
    n3, n2 = int(depth.loc[3, "n"]), int(depth.loc[2, "n"])
    assert test["p_value"] == pytest.approx(fisher_exact([[a, n3 - a], [c, n2 - c]]).pvalue)
    assert (test["n_depth2"], test["n_depth3"]) == (n2, n3)


def test_the_report_says_epochs_count_once(epoch_logs, tmp_path: Path) -> None:
    log, records = epoch_logs
    write_report(tidy_table(Path(log.location)), tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"up to <b>{EPOCHS} epochs</b>" in page and "Each sample counts <b>once</b>" in page
    assert f"<b>{len(records)}</b><span>scored samples" in page
