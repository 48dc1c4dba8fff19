"""Against a human-written benchmark: NodeSynth's failure rate divided by the benchmark's, per model."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np

from ..stats import rate_ratio, rate_table
from .charts import _empty, _order, _pct, _short, _style
from .study import ReportOptions, Study, View

if TYPE_CHECKING:
    import pandas as pd


def benchmark_ratio(tidy: pd.DataFrame, s: Study, options: ReportOptions) -> View:
    import plotly.graph_objects as go

    title = "NodeSynth vs a human-written benchmark"
    bench = tidy[(tidy["suite"] == "benchmark") & tidy["failure"].notna()]
    if bench.empty:
        note = (
            "No benchmark logs were given (pass --benchmark LOG, e.g. an inspect_evals/xstest log)."
            if not (tidy["suite"] == "benchmark").any()
            else "The benchmark logs have no score this report can read as a failure (supported: a 'failure' score "
            "metadata value, or XSTest's C/P/I grades on prompts labelled safe/unsafe)."
        )
        return _empty("benchmark_ratio", "Against a human-written benchmark", title, note)
    bench = bench.assign(failure=bench["failure"].astype(bool))
    ours = rate_table(s.scored, ["model"], options.confidence)
    theirs = rate_table(bench, ["model"], options.confidence)
    tasks = bench.groupby("model", observed=True)["task"].agg(lambda t: ", ".join(sorted(set(map(str, t)))))
    merged = ours.merge(theirs, on="model", how="outer", suffixes=("_nodesynth", "_benchmark"))
    merged["benchmark"] = merged["model"].map(tasks)
    ratios = [
        rate_ratio(a, n1, c, n2, options.confidence) if not (math.isnan(n1) or math.isnan(n2)) else (math.nan,) * 3
        for a, n1, c, n2 in zip(merged["failures_nodesynth"], merged["n_nodesynth"], merged["failures_benchmark"],
                                merged["n_benchmark"], strict=True)
    ]
    merged["ratio"], merged["ratio_ci_low"], merged["ratio_ci_high"] = zip(*ratios, strict=True) if ratios else ([], [], [])
    merged = _order(merged, s.models + sorted(set(merged["model"]) - set(s.models)))
    both = merged.dropna(subset=["ratio"])
    only = sorted(set(merged["model"]) - set(both["model"]))
    figure = None
    if len(both):
        figure = go.Figure(go.Scatter(
            x=both["model"], y=both["ratio"], mode="markers+text",
            marker={"size": 14, "color": [s.colors.get(m, "#555") for m in both["model"]]},
            error_y={"type": "data", "symmetric": False, "array": both["ratio_ci_high"] - both["ratio"],
                     "arrayminus": both["ratio"] - both["ratio_ci_low"], "color": "#222", "thickness": 1.5, "width": 8},
            text=[f"  {r:.2g}×" for r in both["ratio"]], textposition="middle right",
            customdata=np.stack([both["rate_nodesynth"], both["rate_benchmark"], both["ratio_ci_low"], both["ratio_ci_high"]], axis=-1),
            hovertemplate="<b>%{x}</b><br>NodeSynth %{customdata[0]:.1%} / benchmark %{customdata[1]:.1%} = %{y:.2f}×"
            "<br>95% CI %{customdata[2]:.2f}–%{customdata[3]:.2f}<extra></extra>",
        ))
        figure.add_hline(y=1, line_dash="dot", line_color="#444", annotation_text="same failure rate",
                         annotation_position="bottom right")
        ticks = [f"{_short(str(m), 28)}<br>{_pct(a)} vs {_pct(b)}" for m, a, b in
                 zip(both["model"], both["rate_nodesynth"], both["rate_benchmark"], strict=True)]
        _style(figure, height=420, yaxis={"type": "log", "title": "NodeSynth ÷ benchmark (log scale)"},
               xaxis={"tickmode": "array", "tickvals": list(both["model"]), "ticktext": ticks,
                      "title": "model: NodeSynth vs benchmark failure rate"})
    only_note = f"Models in only one of the two: {', '.join(only)} (no ratio)." if only else None
    return View(
        key="benchmark_ratio",
        section="Against a human-written benchmark",
        title=title + ": failure-rate ratio per model",
        description=(
            "NodeSynth's failure rate divided by the benchmark's, per model; above 1 means the NodeSynth queries elicit "
            "failures more often (the paper reports up to five times). Interval: Katz's log method for a ratio of two "
            "independent proportions (0.5 added to every cell when a count is zero). A benchmark failure is read as: a "
            "score whose metadata says failure, or, for XSTest-style C/P/I grades, full compliance ('C') with a prompt "
            "labelled unsafe (safe prompts measure over-refusal and are left out). Benchmark: "
            + html.escape(", ".join(sorted(set(map(str, bench["task"]))))) + "."
        ),
        figure=figure,
        tables={"benchmark_ratio": merged},
        shown="benchmark_ratio",
        note=only_note,
    )
