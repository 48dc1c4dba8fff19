"""Model comparison and the taxonomy: failure rate per model, per L1 category and per L2 topic."""

from __future__ import annotations

import numpy as np

from ..stats import add_rate, rate_table
from .charts import _by_size, _count_ticks, _empty, _error, _esc, _heatmap, _order, _rate_axis, _short, _style, _wrap
from .study import ReportOptions, Study, View


def by_model(s: Study, options: ReportOptions) -> View:
    import plotly.graph_objects as go

    table = rate_table(s.scored, ["model"], options.confidence)
    unscored = s.rows[s.rows["failure"].isna()].groupby("model", observed=True).size().rename("unscored")
    table = table.merge(unscored, on="model", how="outer")
    table["unscored"] = table["unscored"].fillna(0).astype(int)
    table[["n", "failures"]] = table[["n", "failures"]].fillna(0).astype(int)
    table = _order(table[["model", "n", "failures", "unscored", "rate", "ci_low", "ci_high"]], s.models)
    figure = go.Figure(
        go.Bar(
            x=table["model"],
            y=table["rate"],
            marker_color=[s.colors[m] for m in table["model"]],
            error_y=_error(table),
            customdata=np.stack([table["ci_low"], table["ci_high"], table["n"], table["unscored"]], axis=-1),
            hovertemplate="<b>%{x}</b><br>failure rate %{y:.1%}<br>95% CI %{customdata[0]:.1%}–%{customdata[1]:.1%}"
            "<br>%{customdata[2]} scored, %{customdata[3]} unscored<extra></extra>",
        )
    )
    _style(figure, height=400, yaxis=_rate_axis(table["ci_high"]), xaxis=_count_ticks(table, "rate", "failures", "n"))
    unscored_total = int(table["unscored"].sum())
    note = (
        f"{unscored_total} responses could not be scored (the grader named no label); they are excluded from the rates."
        if unscored_total
        else None
    )
    return View(
        key="by_model",
        section="Model comparison",
        title="Failure rate per model",
        description=(
            "Share of scored responses that failed, per model, with 95% Wilson intervals (the black bars). "
            "Models whose intervals do not overlap differ clearly; overlapping intervals mean the data cannot "
            "tell them apart."
        ),
        figure=figure,
        tables={"by_model": table},
        shown="by_model",
        note=note,
    )


def by_l1(s: Study, options: ReportOptions) -> list[View]:
    import plotly.graph_objects as go

    scored = s.scored[s.scored["l1"].notna()]
    if scored.empty:
        return [_empty("by_l1", "Taxonomy", "Failure rate by L1 category", "No sample carries an L1 label.")]
    table = _order(rate_table(scored, ["model", "l1"], options.confidence), s.models)
    l1s = _by_size(scored, "l1")
    views: list[View] = []
    if len(l1s) >= 3:
        radar = go.Figure()
        for model in s.models:
            part = table[table["model"] == model].set_index("l1").reindex(l1s)
            radar.add_trace(
                go.Scatterpolar(
                    r=list(part["rate"]) + [part["rate"].iloc[0]],
                    theta=[_wrap(label, 22) for label in l1s] + [_wrap(l1s[0], 22)],
                    name=model,
                    line_color=s.colors[model],
                    customdata=np.stack([list(part["n"]) + [part["n"].iloc[0]]], axis=-1),
                    hovertemplate=f"<b>{_esc(model)}</b><br>%{{theta}}<br>failure rate %{{r:.1%}} (n=%{{customdata[0]}})<extra></extra>",
                )
            )
        radar.update_layout(polar={"radialaxis": {"tickformat": ".0%", "rangemode": "tozero"}})
        _style(radar, height=520, legend_title_text="model")
        views.append(
            View(
                key="l1_radar",
                section="Taxonomy",
                title="Failure rate by L1 category (radar)",
                description=(
                    "Each axis is a top-level risk category (L1); the further out a model's line, the more often it "
                    "failed on queries of that category. Shapes that bulge in one direction show where a model is weak."
                ),
                figure=radar,
            )
        )
    heat = _heatmap(table, row="model", column="l1", rows=s.models, columns=l1s, options=options,
                    row_title="model", column_title="L1 category")
    views.append(
        View(
            key="l1_heatmap",
            section="Taxonomy",
            title="Failure rate by L1 category (models × L1)",
            description=(
                "Rows are models, columns the L1 categories (most queries first). Each cell shows the failure rate and "
                "the number of scored responses; darker is worse. Hover for the 95% interval."
            ),
            figure=heat,
            tables={"by_l1": table},
            shown="by_l1",
            note=None if len(l1s) >= 3 else "The radar needs at least three L1 categories; the heatmap shows them all.",
        )
    )
    return views


def by_l2(s: Study, options: ReportOptions) -> View:
    scored = s.scored[s.scored["l2"].notna()]
    if scored.empty:
        return _empty("by_l2", "Taxonomy", "Failure rate by L2 topic", "No sample carries an L2 label.")
    table = rate_table(scored, ["model", "l1", "l2"], options.confidence)
    l2s = _by_size(scored, "l2")
    shown = l2s[: options.max_rows]
    # rows grouped by their L1, so a category's topics sit together
    l1_of = scored.drop_duplicates("l2").set_index("l2")["l1"].to_dict()
    shown = sorted(shown, key=lambda l2: (str(l1_of.get(l2)), l2))
    flat = table.groupby(["model", "l2"], observed=True)[["n", "failures"]].sum().reset_index()
    flat = add_rate(flat, options.confidence)
    heat = _heatmap(flat, row="l2", column="model", rows=shown, columns=s.models, options=options,
                    row_title="L2 topic", column_title="model",
                    row_labels=[f"{_short(str(l1_of.get(l2)), 18)} › {_short(l2, 40)}" for l2 in shown])
    note = f"Showing the {len(shown)} L2 topics with most queries of {len(l2s)}; all are in by_l2.csv." if len(l2s) > len(shown) else None
    return View(
        key="by_l2",
        section="Taxonomy",
        title="Failure rate by L2 topic (L2 × models)",
        description=(
            "Rows are L2 topics (prefixed by their L1 category), columns are models. Look for rows that are dark for "
            "every model (a topic the whole field gets wrong) and for cells darker than their row (a model-specific weakness)."
        ),
        figure=heat,
        tables={"by_l2": _order(table, s.models)},
        shown=None,
        note=note,
    )
