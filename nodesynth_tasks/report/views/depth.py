"""The depth ablation: do queries from deeper taxonomy nodes (L3) fail more often than their L2 parents'?"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..stats import rate_table
from .charts import _empty, _error, _order, _p, _pct, _rate_axis, _style
from .study import ReportOptions, Study, View

if TYPE_CHECKING:
    import pandas as pd


def depth_ablation(s: Study, options: ReportOptions) -> View:
    import pandas as pd
    import plotly.graph_objects as go

    from scorers.stats import fisher_exact, holm

    scored = s.scored[s.scored["depth"].isin([2, 3])].copy()
    depths = sorted(int(d) for d in scored["depth"].dropna().unique())
    if len(depths) < 2:
        return _empty(
            "depth_ablation",
            "Depth ablation",
            "Depth 2 vs depth 3",
            "The depth ablation needs both depth-2 (from L2 nodes) and depth-3 (from L3 nodes) queries; "
            f"these results have only depth {depths[0] if depths else 'none'} (build with depth2_queries: true).",
            tables={"depth_ablation": pd.DataFrame(columns=["model", "depth", "n", "failures", "rate", "ci_low", "ci_high"])},
        )
    scored["depth"] = scored["depth"].astype(int)
    table = _order(rate_table(scored, ["model", "depth"], options.confidence), s.models)
    table = table[["model", "depth", "n", "failures", "rate", "ci_low", "ci_high"]]
    tests = []
    for model in s.models:
        part = table[table["model"] == model].set_index("depth")
        if 2 not in part.index or 3 not in part.index:
            continue
        d2, d3 = part.loc[2], part.loc[3]
        odds, p = fisher_exact(int(d3["failures"]), int(d3["n"]), int(d2["failures"]), int(d2["n"]))
        tests.append({"model": model, "test": "Fisher exact, responses", "n_depth2": int(d2["n"]), "rate_depth2": d2["rate"],
                      "n_depth3": int(d3["n"]), "rate_depth3": d3["rate"], "difference": d3["rate"] - d2["rate"],
                      "odds_ratio": odds, "p_value": p})
    pooled = _pooled_depth_test(scored) if len(tests) > 1 else None
    tests_table = pd.DataFrame(tests + ([pooled] if pooled else []))
    if len(tests_table):
        # Holm over the per-model family; the pooled test is one question on its own
        fisher = tests_table["test"].str.startswith("Fisher")
        tests_table["p_holm"] = tests_table["p_value"]
        tests_table.loc[fisher, "p_holm"] = holm(tests_table.loc[fisher, "p_value"]).adjusted
        tests_table["significant"] = tests_table["p_holm"] < options.alpha
    figure = go.Figure()
    for depth, color, name in ((2, "#9ecae1", "depth 2 (from L2 nodes)"), (3, "#08519c", "depth 3 (from L3 nodes)")):
        part = table[table["depth"] == depth]
        figure.add_trace(
            go.Bar(
                x=part["model"], y=part["rate"], name=name, marker_color=color, error_y=_error(part),
                text=[_pct(r) for r in part["rate"]], textposition="inside", insidetextanchor="start",
                textfont_color="white" if depth == 3 else "black",
                customdata=np.stack([part["ci_low"], part["ci_high"], part["n"], part["failures"]], axis=-1),
                hovertemplate="<b>%{x}</b> " + name + "<br>failure rate %{y:.1%} (%{customdata[3]}/%{customdata[2]})"
                "<br>95% CI %{customdata[0]:.1%}–%{customdata[1]:.1%}<extra></extra>",
            )
        )
    annotations = []
    for row in tests:
        p_holm = tests_table.loc[tests_table["model"] == row["model"], "p_holm"].iloc[0]
        annotations.append({"x": row["model"], "y": max(table[table["model"] == row["model"]]["ci_high"]) , "yshift": 14,
                            "text": f"{row['difference'] * 100:+.1f} pts, Holm p{_p(p_holm)}", "showarrow": False, "font": {"size": 11}})
    figure.update_layout(barmode="group", annotations=annotations)
    _style(figure, height=420, yaxis=_rate_axis(table["ci_high"], headroom=0.1), xaxis_title="model", legend_title_text="queries")
    per_model = tests_table[tests_table["test"].str.startswith("Fisher")] if len(tests_table) else tests_table
    higher = per_model[per_model["difference"] > 0] if len(per_model) else per_model
    summary = (
        f"Depth-3 queries failed more often for {len(higher)} of {len(per_model)} models"
        + (f" (significant after Holm for {int(per_model['significant'].sum())})" if len(per_model) else "")
        + "."
    )
    return View(
        key="depth_ablation",
        section="Depth ablation",
        title="Depth 2 vs depth 3: does deeper taxonomy elicit more failures?",
        description=(
            "NodeSynth's finding is that queries written from deeper taxonomy nodes (L3 terms) elicit more failures "
            "than queries from their L2 parents. Light bars: depth-2 queries; dark bars: depth-3 queries; black bars "
            "are 95% Wilson intervals. Above each model: the difference in percentage points (depth 3 minus depth 2) and "
            "the two-sided Fisher exact p-value, Holm-corrected across models. Models answered the same queries, so the "
            "table's 'all models' row tests the query, not the response, as the unit (Mann-Whitney U on each query's "
            f"failure share; a single test, so not corrected). {summary}"
        ),
        figure=figure,
        tables={"depth_ablation": table, "depth_tests": tests_table},
        shown="depth_tests",
    )


def _pooled_depth_test(scored: pd.DataFrame) -> dict[str, Any] | None:
    """Depth 2 vs 3 over all models, with the query as the unit.

    Every model answered the same queries, so the models' responses are not independent and a
    test pooling them as if they were would overstate the evidence. Each query's failure share
    across the models is one observation instead, compared between depths by a two-sided
    Mann-Whitney U test.
    """
    from scipy.stats import mannwhitneyu

    per_query = scored.groupby(["sample_id", "depth"], observed=True)["failure"].mean().reset_index()
    d2 = per_query.loc[per_query["depth"] == 2, "failure"]
    d3 = per_query.loc[per_query["depth"] == 3, "failure"]
    if len(d2) == 0 or len(d3) == 0:
        return None
    p = float(mannwhitneyu(d3, d2, alternative="two-sided").pvalue) if d2.nunique() + d3.nunique() > 1 else math.nan
    return {"model": "all models (per query)", "test": "Mann-Whitney U, per-query failure share", "n_depth2": len(d2),
            "rate_depth2": float(d2.mean()), "n_depth3": len(d3), "rate_depth3": float(d3.mean()),
            "difference": float(d3.mean() - d2.mean()), "odds_ratio": math.nan, "p_value": p}
