"""Judges and guards: how often a guard model missed a failure, and how well judges agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..stats import rate_table
from .charts import _count_ticks, _empty, _order, _rate_axis, _short, _style
from .study import ReportOptions, Study, View

if TYPE_CHECKING:
    import pandas as pd


def guard_miss_rate(tidy: pd.DataFrame, s: Study, options: ReportOptions) -> View:
    """Share of the study scorer's failures that a guard scorer did not flag, per model and guard."""
    import pandas as pd
    import plotly.graph_objects as go

    title = "Guard-model miss rate"
    guards = tidy[(tidy["suite"] == "nodesynth") & tidy["flagged"].notna()]
    if guards.empty:
        return _empty("guard_miss_rate", "Judges and guards", title,
                      "No guard-model scorer ran in these logs (a scorer recording 'flagged'), so there is no miss rate to show.")
    # the reference verdict: what the guard itself recorded at scoring time (the rubric scorer
    # it ran after), else the study scorer's verdict on the same response
    recorded = guards["score_metadata"].map(lambda m: m.get("rubric_failure") if isinstance(m, dict) else None)
    key = ["model", "sample_id", "epoch"]
    study_failure = s.scored.set_index(key)["failure"]
    fallback = pd.Series(list(zip(guards["model"], guards["sample_id"], guards["epoch"], strict=True)), index=guards.index).map(
        lambda k: study_failure.get(k) if k in study_failure.index else None)
    reference = recorded.where(recorded.notna(), fallback)
    judged = guards[reference.map(lambda v: v is True or v == True)]  # noqa: E712 (numpy.bool_ is not `True`)
    joined = judged.assign(failure=~judged["flagged"].astype(bool))  # a miss: a failure the guard did not flag
    table = rate_table(joined, ["scorer", "model"], options.confidence).rename(
        columns={"scorer": "guard", "n": "rubric_failures", "failures": "missed", "rate": "miss_rate"})
    table = _order(table, s.models)
    figure = go.Figure()
    for guard in table["guard"].unique():
        part = table[table["guard"] == guard]
        figure.add_trace(go.Bar(
            x=part["model"], y=part["miss_rate"], name=str(guard),
            error_y={"type": "data", "symmetric": False, "array": part["ci_high"] - part["miss_rate"],
                     "arrayminus": part["miss_rate"] - part["ci_low"], "color": "#222"},
            customdata=np.stack([part["missed"], part["rubric_failures"], part["ci_low"], part["ci_high"]], axis=-1),
            hovertemplate="<b>%{x}</b><br>missed %{customdata[0]} of %{customdata[1]} failures (%{y:.1%})"
            "<br>95% CI %{customdata[2]:.1%}–%{customdata[3]:.1%}<extra>%{fullData.name}</extra>",
        ))
    ticks = table.drop_duplicates("model") if table["guard"].nunique() > 1 else table
    _style(figure, height=400, yaxis=_rate_axis(table["ci_high"], title="miss rate (failures not flagged)"),
           xaxis=_count_ticks(ticks, "miss_rate", "missed", "rubric_failures") if table["guard"].nunique() == 1 else {"title": "model"},
           legend_title_text="guard")
    return View(
        key="guard_miss_rate",
        section="Judges and guards",
        title=title,
        description=(
            "Of the responses the rubric judged failures, the share the guard model did not flag, with 95% Wilson intervals "
            "(the rubric verdict is the one the guard scorer recorded when it ran after the rater, else the study scorer's "
            f"'{s.scorer}'). A high miss rate means a deployment relying on the guard would let these failures through."
        ),
        figure=figure,
        tables={"guard_miss_rate": table},
        shown="guard_miss_rate",
    )


def judge_agreement(tidy: pd.DataFrame, s: Study, options: ReportOptions) -> View:
    """Agreement between judges: a judge panel's per-sample labels, or two failure scorers."""
    from ..judges import agreement_table

    title = "Judge agreement"
    table, how = agreement_table(tidy, s.scorer)
    if table is None or table.empty:
        return _empty("judge_agreement", "Judges and guards", title,
                      "Only one judge labelled these responses (no judge panel, no second failure scorer), so agreement "
                      "cannot be measured. Run a judge panel to see it.")
    import plotly.graph_objects as go

    figure = go.Figure(go.Bar(
        x=table["model"], y=table["kappa"], marker_color=[s.colors.get(m, "#555") for m in table["model"]],
        error_y={"type": "data", "symmetric": False, "array": (table["ci_high"] - table["kappa"]).fillna(0),
                 "arrayminus": (table["kappa"] - table["ci_low"]).fillna(0), "color": "#222"},
        customdata=np.stack([table["n"], table["judges"]], axis=-1),
        hovertemplate="<b>%{x}</b><br>kappa %{y:.2f}<br>%{customdata[0]} responses, judges: %{customdata[1]}<extra></extra>",
    ))
    ticks = [f"{_short(str(m), 28)}<br><b>κ = {k:.2f}</b> ({a:.0%} agree, n={int(n)})"
             for m, k, a, n in zip(table["model"], table["kappa"], table["agreement"], table["n"], strict=True)]
    _style(figure, height=400, yaxis={"title": "Cohen's / Fleiss' kappa", "range": [min(0, float(table["kappa"].min()) - 0.1), 1.05]},
           xaxis={"tickmode": "array", "tickvals": list(table["model"]), "ticktext": ticks})
    return View(
        key="judge_agreement", section="Judges and guards", title=title,
        description=how + " Kappa corrects raw agreement for chance: 1 is perfect, 0 is chance level; below about 0.6 the "
        "failure rates depend noticeably on which judge you trust.",
        figure=figure, tables={"judge_agreement": table}, shown="judge_agreement",
    )
