"""Slice gaps: every slice of every model against the rest of its responses, Holm-corrected together."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..stats import add_rate
from .charts import _empty, _order, _short, _style
from .study import ReportOptions, Study, View

if TYPE_CHECKING:
    import pandas as pd


SLICE_DIMENSIONS = (
    ("l1", "L1"), ("l2", "L2"), ("l3", "L3"), ("depth", "depth"), ("user_group", "user group"), ("country", "country"),
    ("language", "language"), ("modality", "modality"), ("demographics", "demographic"), ("occupations", "occupation"),
)


def slice_table(s: Study, options: ReportOptions) -> pd.DataFrame:
    """Every slice (model × dimension × value) against the rest of the model's responses.

    Columns: model, dimension, slice, n, failures, rate, ci_low, ci_high, rest_n, rest_rate,
    gap (rate − rest_rate), small, p_value (two-sided Fisher exact), p_holm (Holm over every
    slice tested), significant. A slice or its rest with fewer than `min_slice_n` scored
    responses is `small`: it is listed but not tested, so it neither ranks nor spends alpha.
    """
    import pandas as pd

    from scorers.stats import fisher_exact, holm

    scored = s.scored
    totals = scored.groupby("model", observed=True)["failure"].agg(total_n="count", total_failures="sum")
    parts = []
    for column, name in SLICE_DIMENSIONS:
        if column in ("demographics", "occupations"):
            data = s.explode(column)
        else:
            data = scored[scored[column].notna()].assign(value=lambda f, c=column: f[c].astype(str))
        if data.empty or data["value"].nunique() < 2:
            continue  # one value has no "rest" to compare with
        grouped = data.groupby(["model", "value"], observed=True)["failure"].agg(n="count", failures="sum").reset_index()
        grouped.insert(1, "dimension", name)
        parts.append(grouped)
    if not parts:
        return pd.DataFrame(columns=["model", "dimension", "slice", "n", "failures", "rate", "ci_low", "ci_high", "rest_n",
                                     "rest_rate", "gap", "small", "p_value", "p_holm", "significant"])
    table = pd.concat(parts, ignore_index=True).rename(columns={"value": "slice"})
    table = table.join(totals, on="model")
    table["rest_n"] = table["total_n"] - table["n"]
    rest_failures = table["total_failures"] - table["failures"]
    table = add_rate(table, options.confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rest_rate"] = np.where(table["rest_n"] > 0, rest_failures / table["rest_n"].where(table["rest_n"] > 0, 1), np.nan)
    table["gap"] = table["rate"] - table["rest_rate"]
    table["small"] = (table["n"] < options.min_slice_n) | (table["rest_n"] < options.min_slice_n)
    p_values = np.full(len(table), np.nan)
    columns = (table["failures"], table["n"], rest_failures, table["rest_n"], table["small"])
    for i, (a, n1, c, n2, small) in enumerate(zip(*columns, strict=True)):
        if not small:
            p_values[i] = fisher_exact(int(a), int(n1), int(c), int(n2))[1]
    table["p_value"] = p_values
    table["p_holm"] = holm(p_values).adjusted
    table["significant"] = table["p_holm"] < options.alpha
    table = table.drop(columns=["total_n", "total_failures"])
    return _order(table, s.models)


def slice_gaps(s: Study, options: ReportOptions) -> View:
    import plotly.graph_objects as go

    title = "Largest significant slice gaps (Holm-corrected)"
    if s.scored.empty:
        return _empty("slice_gaps", "Slice gaps", title, "No scored samples.")
    table = slice_table(s, options)
    tested = int((~table["small"]).sum()) if len(table) else 0
    small = int(table["small"].sum()) if len(table) else 0
    top = table[table["significant"].astype(bool)].assign(size=lambda f: f["gap"].abs()).sort_values("size", ascending=False)
    top = top.drop(columns="size").head(options.top_gaps)
    description = (
        "Each slice is one value of one dimension (an L1/L2/L3 node, depth, user group, country, language, modality, "
        "demographic or occupation) for one model, compared with the rest of that model's responses by a two-sided "
        f"Fisher exact test. The p-values are Holm-corrected over all {tested} slices tested; the chart lists the "
        f"largest gaps still significant at {options.alpha:g}. Slices (or their rest) with fewer than "
        f"{options.min_slice_n} scored responses are marked small and not tested: {small} slices here. A positive gap "
        "means the slice fails more often than the rest."
    )
    if top.empty:
        return View(key="slice_gaps", section="Slice gaps", title=title, description=description,
                    tables={"slice_gaps": table},
                    note=f"No slice differs significantly from the rest after Holm correction ({tested} tested, {small} small).")
    top = top.iloc[::-1]
    labels = [f"{_short(m, 22)} · {d}: {_short(v, 40)}" for m, d, v in zip(top["model"], top["dimension"], top["slice"], strict=True)]
    figure = go.Figure()
    figure.add_trace(go.Scatter(
        x=top["rest_rate"], y=labels, mode="markers", name="rest of the model's responses",
        marker={"symbol": "line-ns-open", "size": 14, "color": "#555", "line": {"width": 2}},
        hovertemplate="rest: %{x:.1%}<extra></extra>",
    ))
    figure.add_trace(go.Scatter(
        x=top["rate"], y=labels, mode="markers", name="slice (95% CI)",
        marker={"size": 10, "color": [s.colors.get(m, "#333") for m in top["model"]]},
        error_x={"type": "data", "symmetric": False, "array": top["ci_high"] - top["rate"], "arrayminus": top["rate"] - top["ci_low"],
                 "color": "#333", "thickness": 1.2},
        customdata=np.stack([top["n"], top["gap"], top["p_holm"]], axis=-1),
        hovertemplate="%{y}<br>slice %{x:.1%} (n=%{customdata[0]})<br>gap %{customdata[1]:+.1%}, Holm p=%{customdata[2]:.2g}"
        "<extra></extra>",
    ))
    _style(figure, height=max(300, 30 * len(top) + 140), xaxis={"tickformat": ".0%", "title": "failure rate", "rangemode": "tozero"},
           yaxis={"automargin": True}, legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0})
    shown = top.iloc[::-1][["model", "dimension", "slice", "n", "rate", "ci_low", "ci_high", "rest_rate", "gap", "p_holm"]]
    return View(key="slice_gaps", section="Slice gaps", title=title, description=description, figure=figure,
                tables={"slice_gaps": table, "slice_gaps_top": shown}, shown="slice_gaps_top")
