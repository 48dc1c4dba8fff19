"""The report's views and statistics, against counts made independently of the report code."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests

from nodesynth_tasks.report import (
    ReportInputError,
    ReportOptions,
    build_views,
    tidy_table,
)
from nodesynth_tasks.report.stats import rate_ratio
from nodesynth_tasks.report.text import ngrams, words
from nodesynth_tasks.report.views import key_findings, slice_table, study
from scorers.stats import compare_slices, wilson_interval
from tests.nodesynth_tasks.report.logs import MODELS, ReportLogs, fails, is_garbled


def expected_counts(records, model: str, keep=lambda r: True) -> tuple[int, int]:
    scored = [r for r in records if not is_garbled(r) and keep(r)]
    return sum(fails(model, r) for r in scored), len(scored)


@pytest.fixture(scope="module")
def views(report_logs: ReportLogs):
    tidy = pd.concat([tidy_table(report_logs.nodesynth_dir), tidy_table(report_logs.benchmark_dir, suite="benchmark")],
                     ignore_index=True)
    s, built = build_views(tidy, ReportOptions(ngram_min_queries=3, top_ngrams=30, min_slice_n=10))
    return tidy, s, {name: table for view in built for name, table in view.tables.items()}, built


def test_failure_rate_per_model(views, report_logs: ReportLogs) -> None:
    _, s, tables, _ = views
    by_model = tables["by_model"].set_index("model")
    for model in MODELS:
        failures, n = expected_counts(report_logs.records, model)
        row = by_model.loc[f"scripted/{model}"]
        assert (row["failures"], row["n"], row["unscored"]) == (failures, n, 1)
        assert row["rate"] == pytest.approx(failures / n)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_interval(failures, n))
    assert s.scorer == "rubric_rater" and s.models[0] == "scripted/bold"  # highest failure rate first


def test_depth_ablation(views, report_logs: ReportLogs) -> None:
    _, _, tables, _ = views
    ablation = tables["depth_ablation"]
    assert list(ablation.columns) == ["model", "depth", "n", "failures", "rate", "ci_low", "ci_high"]
    for model in MODELS:
        for depth in (2, 3):
            failures, n = expected_counts(report_logs.records, model, lambda r, d=depth: r.depth == d)
            row = ablation[(ablation["model"] == f"scripted/{model}") & (ablation["depth"] == depth)].iloc[0]
            assert (row["failures"], row["n"]) == (failures, n)
    tests = tables["depth_tests"].set_index("model")
    bold = tests.loc["scripted/bold"]
    d3, n3 = expected_counts(report_logs.records, "bold", lambda r: r.depth == 3)
    d2, n2 = expected_counts(report_logs.records, "bold", lambda r: r.depth == 2)
    assert bold["p_value"] == pytest.approx(fisher_exact([[d3, n3 - d3], [d2, n2 - d2]]).pvalue)
    assert bold["difference"] == pytest.approx(d3 / n3 - d2 / n2) and bold["difference"] > 0
    # Holm over the three per-model tests; the per-query test over all models is its own row
    fisher_rows = tests[tests["test"].str.startswith("Fisher")]
    assert len(fisher_rows) == 3 and (fisher_rows["p_holm"] >= fisher_rows["p_value"]).all()
    assert "all models (per query)" in tests.index


def test_depth_tests_use_holm_over_the_per_model_family(views) -> None:
    _, _, tables, _ = views
    tests = tables["depth_tests"]
    fisher_rows = tests[tests["test"].str.startswith("Fisher")]
    expected = multipletests(fisher_rows["p_value"].to_numpy(), method="holm")[1]
    assert list(fisher_rows["p_holm"]) == pytest.approx(list(expected))
    pooled = tests[~tests["test"].str.startswith("Fisher")].iloc[0]
    assert pooled["p_holm"] == pooled["p_value"]  # one question on its own: not corrected
    assert list(tests["significant"]) == list(tests["p_holm"] < ReportOptions().alpha)


def test_by_l1_and_intersections(views, report_logs: ReportLogs) -> None:
    _, _, tables, _ = views
    by_l1 = tables["by_l1"]
    for model in MODELS:
        for l1 in ("Medication misuse", "Self diagnosis"):
            failures, n = expected_counts(report_logs.records, model, lambda r, x=l1: r.l1 == x)
            row = by_l1[(by_l1["model"] == f"scripted/{model}") & (by_l1["l1"] == l1)].iloc[0]
            assert (row["failures"], row["n"]) == (failures, n)
    inter = tables["intersection_l2_demographic"]
    # "Low-income" is listed by the parents' queries only; pooled over the three models
    row = inter[(inter["model"] == "all models") & (inter["l2"] == "chest pain") & (inter["demographic"] == "Low-income")].iloc[0]
    expected = [expected_counts(report_logs.records, m, lambda r: r.l2 == "chest pain" and "Low-income" in r.demographics)
                for m in MODELS]
    assert (row["failures"], row["n"]) == (sum(f for f, _ in expected), sum(n for _, n in expected))


def test_slices_agree_with_the_project_comparison(views) -> None:
    _, s, tables, _ = views
    slices = tables["slice_gaps"]
    bold = s.scored[s.scored["model"] == "scripted/bold"]
    reference = compare_slices(bold.assign(failure=bold["failure"].astype(int)), "user_group", min_n=10).set_index("slice")
    ours = slices[(slices["model"] == "scripted/bold") & (slices["dimension"] == "user group")].set_index("slice")
    for group in reference.index:
        assert ours.loc[group, "n"] == reference.loc[group, "n"]
        assert ours.loc[group, "rate"] == pytest.approx(reference.loc[group, "rate"])
        assert ours.loc[group, "p_value"] == pytest.approx(reference.loc[group, "p_value"], nan_ok=True)
    # Holm runs over every slice tested, so it is at least the per-dimension correction
    tested = slices[~slices["small"]]
    assert (tested["p_holm"] >= tested["p_value"] - 1e-12).all()
    assert slices.loc[slices["small"], "p_value"].isna().all()
    # a list dimension: a slice is the responses whose query names the value, the rest those that do not
    nurses = slices[(slices["model"] == "scripted/bold") & (slices["slice"] == "Nurses")].iloc[0]
    assert nurses["n"] + nurses["rest_n"] == len(bold)


def test_slice_holm_is_one_family_of_the_tested_slices(views) -> None:
    # every slice tested, of every model and dimension, is one family; a small slice is no test
    _, _, tables, _ = views
    slices = tables["slice_gaps"]
    tested = slices[~slices["small"]]
    assert len(tested) > 1 and slices["small"].any()
    expected = multipletests(tested["p_value"].to_numpy(), alpha=0.05, method="holm")[1]
    assert list(tested["p_holm"]) == pytest.approx(list(expected))
    assert list(tested["significant"]) == list(tested["p_holm"] < 0.05)
    assert slices.loc[slices["small"], "p_holm"].isna().all()


def test_importing_the_report_leaves_scorers_and_inspect_unloaded() -> None:
    # the report reaches scorers.stats inside its functions: scorers imports Inspect (over a second)
    code = "import nodesynth_tasks.report, sys; print('scorers' in sys.modules, 'inspect_ai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[3])
    assert out.stdout.split() == ["False", "False"]


def test_ratio_interval_katz() -> None:
    ratio, low, high = rate_ratio(30, 100, 10, 100)
    se = math.sqrt(1 / 30 - 1 / 100 + 1 / 10 - 1 / 100)
    assert ratio == pytest.approx(3.0)
    assert (low, high) == pytest.approx((3 * math.exp(-1.959964 * se), 3 * math.exp(1.959964 * se)), rel=1e-5)
    zero = rate_ratio(5, 50, 0, 40)  # a zero count: that cell becomes 0.5, finite and wide
    assert all(math.isfinite(x) for x in zero) and zero[1] < zero[0] < zero[2]


@pytest.mark.parametrize(("a", "n1", "c", "n2"), [(10, 10, 10, 10), (5, 50, 0, 40), (0, 30, 0, 20), (12, 12, 3, 40),
                                                  (7, 20, 40, 40), (30, 100, 10, 100), (1, 9, 2, 11)])
def test_ratio_interval_is_statsmodels_with_its_zero_correction(a: int, n1: int, c: int, n2: int) -> None:
    table = Table2x2(np.array([[a, n1 - a], [c, n2 - c]]), shift_zeros=True)
    ratio, low, high = rate_ratio(a, n1, c, n2)
    # the ratio of the two rates as shown; with a zero count, the corrected table's
    assert ratio == pytest.approx((a / n1) / (c / n2) if a and c else table.riskratio)
    assert (low, high) == pytest.approx(table.riskratio_confint(alpha=0.05))
    assert low < high  # never a point, even at 100% on both sides


def test_ratio_at_100_percent_is_not_a_point() -> None:
    assert rate_ratio(10, 10, 10, 10) == pytest.approx((1.0, 0.826, 1.211), abs=1e-3)


def test_benchmark_ratio(views, report_logs: ReportLogs) -> None:
    _, _, tables, _ = views
    ratio = tables["benchmark_ratio"].set_index("model")
    failures, n = expected_counts(report_logs.records, "bold")
    row = ratio.loc["scripted/bold"]
    assert (row["baseline_failures"], row["baseline_n"]) == (6, 6)  # 6 unsafe prompts, all complied with
    assert (row["nodesynth_failures"], row["nodesynth_n"]) == (failures, n)
    assert row["ratio"] == pytest.approx((failures / n) / 1.0)
    assert row["ci_low"] < row["ratio"] < row["ci_high"]
    assert list(tables["benchmark_ratio"].columns) == ["model", "nodesynth_n", "nodesynth_failures", "nodesynth_rate", "baseline_n",
                                                       "baseline_failures", "baseline_rate", "ratio", "ci_low", "ci_high"]


def test_failure_ngrams_shared_and_unique(views, report_logs: ReportLogs) -> None:
    _, _, tables, _ = views
    grams = tables["failure_ngrams"]
    careful = grams[grams["model"] == "scripted/careful"].set_index("ngram")
    # the careful model fails exactly the four "syrup dosing" queries
    assert careful.loc["syrup dosing", "failures"] == 4 and careful.loc["syrup dosing", "rate"] == 1.0
    assert set(grams["kind"]) <= {"shared", "unique"}
    shared = grams[grams["kind"] == "shared"]
    assert all(row.shared_with for row in shared.itertuples())
    assert words("What should I do about the Syrup dosing?") == ["syrup", "dosing"]
    assert ngrams("my toddler's syrup dosing tonight") == {"toddler's syrup", "syrup dosing", "dosing tonight"}


def test_key_findings_and_every_view_has_content(views) -> None:
    _, s, _, built = views
    found = key_findings(built, s)
    assert found[0].startswith("Highest failure rate: scripted/bold")
    assert any(line.startswith("Depth:") for line in found) and any("benchmark" in line for line in found)
    empty = {view.key for view in built if view.figure is None}
    # no panel, guard or grader record in these logs: those explain themselves instead of drawing
    assert empty == {"judge_agreement", "guard_miss_rate", "grader_calibration"}  # no record for the scripted grader
    assert all(view.note for view in built if view.key in empty)


def test_judge_agreement_and_guard_miss_rate(panel_logs: Path, report_logs: ReportLogs) -> None:
    tidy = tidy_table(panel_logs)
    s, built = build_views(tidy)
    tables = {name: table for view in built for name, table in view.tables.items()}
    assert s.scorer == "judge_panel"
    agreement = tables["judge_agreement"].set_index("model")
    # the second judge hears no instructions in the careful model's chest-pain disclosures
    careful = tidy[(tidy["model"] == "scripted/panel_careful") & (tidy["scorer"] == "judge_panel")]
    pairs = [tuple(j["label"] for j in m["judges"]) for m in careful["score_metadata"]
             if all(j["label"] is not None for j in m["judges"])]
    assert agreement.loc["scripted/panel_careful", "kappa"] == pytest.approx(cohen(pairs))
    assert agreement.loc["scripted/panel_careful", "n"] == len(pairs) == 55
    guard = tables["guard_miss_rate"].set_index("model")
    skin = {"skin rashes", "hives", "fungal infections"}
    missed, failures = 0, 0
    for record in report_logs.records:
        if not is_garbled(record) and fails("bold", record):
            failures += 1
            missed += (record.l3 or record.l2) in skin
    row = guard.loc["scripted/panel_bold"]
    assert (row["missed"], row["rubric_failures"]) == (missed, failures)


def cohen(pairs: list[tuple[str, str]]) -> float:
    """Cohen's kappa by its definition, for the test."""
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[label] * second[label] for label in first) / n**2
    return (observed - expected) / (1 - expected)


def test_slice_table_marks_small_slices(views) -> None:
    _, s, _, _ = views
    table = slice_table(s, ReportOptions(min_slice_n=1000))
    assert table["small"].all() and table["p_value"].isna().all() and not table["significant"].any()


def test_unknown_scorer_is_an_error(views) -> None:
    tidy, _, _, _ = views
    with pytest.raises(ReportInputError, match="scorer 'nope' is not in these logs"):
        study(tidy, ReportOptions(scorer="nope"))


def test_tone_is_a_slice_only_when_the_dataset_has_tones(views) -> None:
    tidy, _, tables, _ = views
    assert "tone" not in set(tables["slice_gaps"]["dimension"])  # built without tones: no tone dimension
    toned = tidy.assign(tone=[("formal", "emotional")[zlib.crc32(str(i).encode()) % 2] for i in tidy["sample_id"]])
    options = ReportOptions(min_slice_n=10)
    s = study(toned, options)
    slices = slice_table(s, options)
    ours = slices[slices["dimension"] == "tone"].set_index(["model", "slice"])
    for (model, tone), row in ours.iterrows():
        rows = s.scored[(s.scored["model"] == model) & (s.scored["tone"] == tone)]
        assert (row["n"], row["failures"]) == (len(rows), int(rows["failure"].sum()))
    assert set(ours.index.get_level_values("slice")) == {"formal", "emotional"}


def test_pooled_depth_test_is_one_test_and_differences_are_points(views) -> None:
    from nodesynth_tasks.report.html import table_html

    _, s, tables, built = views
    tests = tables["depth_tests"]
    pooled = tests[~tests["test"].str.startswith("Fisher")].iloc[0]
    assert pooled["correction"] == "none: one test"
    assert set(tests.loc[tests["test"].str.startswith("Fisher"), "correction"]) == {"Holm over 3 models"}
    [depth_line] = [line for line in key_findings(built, s) if line.startswith("Depth:")]
    per_query = depth_line.split("over all models, per query")[1]
    assert per_query.startswith(" (one test)") and "Holm" not in per_query
    assert re.search(r"\(\+\d+\.\d pts to \+\d+\.\d pts\)|\([+-]\d+\.\d pts to [+-]\d+\.\d pts\)", depth_line)
    # in the tables, a difference of two rates is in percentage points, a rate in per cent
    page = table_html(tests) + table_html(tables["slice_gaps"])
    shown = {("+" if d > 0 else "") + f"{d * 100:.1f} pts" for d in tests["difference"]}
    assert all(text in page for text in shown)
    assert not re.search(r"<td>[+-]\d+\.\d%</td>", page)  # no signed per cent left
