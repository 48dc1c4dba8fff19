"""What every view draws with: the report's look, rate heatmaps and colours, ordering, and label text.

Helpers flow one way: `study` <- `charts` <- the view modules; nothing here knows a view.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .study import ReportOptions, View

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
RATE_SCALE = "YlOrRd"


# ------------------------------------------------------------------------------------------
# ordering


def _by_size(rows: pd.DataFrame, column: str) -> list[str]:
    """The column's values, most frequent first (counted on the column itself: a category
    column is not turned into 600,000 strings to count 40 values)."""
    counts = rows[column].value_counts()
    counts = counts[counts > 0]
    return [str(v) for v in counts.index]


def _order(table: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Rows in the report's model order (highest failure rate first), stable within a model."""
    rank = {model: i for i, model in enumerate(models)}
    ranked = table.assign(_rank=[rank.get(str(m), len(rank)) for m in table["model"]])
    return ranked.sort_values("_rank", kind="stable").drop(columns="_rank").reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# figures


def _empty(key: str, section: str, title: str, note: str, tables: dict[str, Any] | None = None) -> View:
    return View(key=key, section=section, title=title, description="", note=note, tables=tables or {})


def _heatmap(table: pd.DataFrame, *, row: str, column: str, rows: list[str], columns: list[str], options: ReportOptions,
             row_title: str, column_title: str, row_labels: list[str] | None = None) -> go.Figure:
    import plotly.graph_objects as go

    zmax = _zmax(table[table["n"] >= options.min_cell_n]["rate"])
    trace = _heat_trace(table, row, column, rows, columns, options, zmax=zmax, row_labels=row_labels)
    figure = go.Figure(trace)
    _size_heatmap(figure, n_rows=len(rows), column_labels=list(trace.x), row_title=row_title, column_title=column_title)
    return figure


def _size_heatmap(figure: go.Figure, *, n_rows: int, column_labels: list[str], row_title: str, column_title: str,
                  top: int = 30) -> None:
    """Give every row a readable height and the column labels the room they need.

    Plotly keeps the figure's total height and shrinks the plot when labels need more margin,
    so the margin is computed here rather than left to automargin: short labels stay level
    (wrapped onto lines), long ones are tilted and measured.
    """
    lines = max((label.count("<br>") + 1 for label in column_labels), default=1)
    longest = max((len(part) for label in column_labels for part in label.split("<br>")), default=0)
    tilt = longest > 14 and len(column_labels) > 6
    bottom = int(40 + (0.62 * 6.4 * longest if tilt else 15 * lines)) + 20
    row_px = 46 if n_rows <= 6 else 34 if n_rows <= 15 else 26
    _style(
        figure,
        height=n_rows * row_px + top + bottom + 10,
        margin={"t": top, "b": bottom},
        xaxis={"title": {"text": column_title, "standoff": 8}, "tickangle": -40 if tilt else 0, "automargin": False, "side": "bottom"},
        yaxis={"title": row_title, "automargin": True, "autorange": "reversed"},
    )


def _heat_trace(table: pd.DataFrame, row: str, column: str, rows: list[str], columns: list[str], options: ReportOptions,
                *, zmax: float, row_labels: list[str] | None = None) -> go.Heatmap:
    import pandas as pd
    import plotly.graph_objects as go

    keyed = table.assign(_r=table[row].astype(str), _c=table[column].astype(str)).drop_duplicates(["_r", "_c"]).set_index(["_r", "_c"])
    shape = (len(rows), len(columns))
    cells = keyed.reindex(pd.MultiIndex.from_product([rows, columns]))
    n = cells["n"].to_numpy(dtype=float).reshape(shape)
    rate = cells["rate"].to_numpy(dtype=float).reshape(shape)
    custom = np.stack([cells[c].to_numpy(dtype=float).reshape(shape) for c in ("n", "failures", "ci_low", "ci_high")], axis=-1)
    shown = n >= options.min_cell_n  # NaN (no cell) compares False
    z = np.where(shown, rate, np.nan)
    wide = len(columns) > 8  # narrow cells: the rate only; n is in the hover
    text = np.array([
        [("" if not shown[i, j] else f"{rate[i, j] * 100:.0f}%" if wide else f"{rate[i, j] * 100:.0f}%<br>n={int(n[i, j])}")
         for j in range(shape[1])]
        for i in range(shape[0])
    ], dtype=object).reshape(shape)
    many = len(rows) * len(columns) > 600
    return go.Heatmap(
        z=z, x=[_wrap(_short(c, 60), 20) if len(columns) <= 6 else _short(c, 34) for c in columns],
        y=row_labels or [_short(r, 50) for r in rows],
        colorscale=RATE_SCALE, zmin=0, zmax=zmax, xgap=1, ygap=1,
        text=None if many else text, texttemplate=None if many else "%{text}", textfont={"size": 10},
        customdata=custom,
        colorbar={"title": {"text": "failure<br>rate"}, "tickformat": ".0%", "len": 1, "lenmode": "fraction", "thickness": 14},
        hovertemplate="%{y} × %{x}<br>failure rate %{z:.1%} (%{customdata[1]}/%{customdata[0]})"
        "<br>95% CI %{customdata[2]:.1%}–%{customdata[3]:.1%}<extra></extra>",
        hoverongaps=False,
    )


def _colorbar_trace(zmax: float) -> go.Scatter:
    """An invisible trace that draws the failure-rate colour bar (a Sankey has none of its own)."""
    import plotly.graph_objects as go

    return go.Scatter(
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker={"colorscale": RATE_SCALE, "cmin": 0, "cmax": zmax, "color": [0], "showscale": True,
                "colorbar": {"title": {"text": "failure<br>rate"}, "tickformat": ".0%", "x": 1.02}},
    )


def _rate_colors(rates: pd.Series, zmax: float, alpha: float) -> list[str]:
    """The colour scale's colour for each rate (grey for NaN), with transparency, in one pass."""
    from plotly.colors import get_colorscale, sample_colorscale

    values = [0.0 if math.isnan(r) else min(max(float(r) / zmax, 0.0), 1.0) for r in rates]
    colors = sample_colorscale(get_colorscale(RATE_SCALE), values) if values else []
    return [
        f"rgba(180,180,180,{alpha})" if math.isnan(r) else c.replace("rgb(", "rgba(").replace(")", f",{alpha})")
        for c, r in zip(colors, rates, strict=True)
    ]


def _zmax(rates: pd.Series) -> float:
    """The top of a rate colour scale: the largest rate shown, rounded up to 5 points (at least 5%)."""
    top = float(rates.max()) if len(rates) and rates.notna().any() else 1.0
    return min(1.0, max(0.05, math.ceil(top * 20) / 20))


def _error(table: pd.DataFrame) -> dict[str, Any]:
    return {"type": "data", "symmetric": False, "array": table["ci_high"] - table["rate"],
            "arrayminus": table["rate"] - table["ci_low"], "color": "#222", "thickness": 1.5}


def _rate_axis(highs: pd.Series, headroom: float = 0.05, title: str = "failure rate") -> dict[str, Any]:
    top = float(highs.max()) if len(highs) and highs.notna().any() else 1.0
    return {"title": title, "tickformat": ".0%", "range": [0, min(1.0, top + headroom) if top + headroom < 1 else 1.05]}


def _count_ticks(table: pd.DataFrame, rate: str, failures: str, n: str) -> dict[str, Any]:
    """Category ticks that carry the numbers: "model" over "28.9% (184/636)"."""
    labels = [f"{_short(str(m), 28)}<br><b>{_pct(r)}</b> ({int(f)}/{int(k)})" for m, r, f, k in
              zip(table["model"], table[rate], table[failures], table[n], strict=True)]
    return {"tickmode": "array", "tickvals": list(table["model"]), "ticktext": labels, "title": None}


def _style(figure: go.Figure, *, height: int, margin: dict[str, int] | None = None, **layout: Any) -> None:
    """The report's look: system fonts (nothing fetched), white background, light grid."""
    base_margin = {"l": 60, "r": 30, "t": 30, "b": 60}
    figure.update_layout(
        template=None,
        font={"family": FONT, "size": 12, "color": "#1f2933"},
        paper_bgcolor="white",
        plot_bgcolor="white",
        height=height,
        margin={**base_margin, **(margin or {})},
        hoverlabel={"font": {"family": FONT}},
        **layout,
    )
    figure.update_xaxes(gridcolor="#e5e7eb", zerolinecolor="#cbd2d9", linecolor="#cbd2d9")
    figure.update_yaxes(gridcolor="#e5e7eb", zerolinecolor="#cbd2d9", linecolor="#cbd2d9")


# ------------------------------------------------------------------------------------------
# label text


def _axis_name(column: str) -> str:
    return {"l1": "L1 category", "l2": "L2 topic", "l3": "L3 term", "user_group": "user group"}.get(column, column.replace("_", " "))


def _pct(rate: float) -> str:
    return "–" if math.isnan(rate) else f"{rate * 100:.1f}%"


def _p(p: float) -> str:
    """The tail of "p=0.123" / "p<0.001", written after a literal "p"."""
    if math.isnan(p):
        return " n/a"
    return "<0.001" if p < 0.001 else f"={p:.3f}"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _wrap(text: str, width: int) -> str:
    """Break a long label onto lines (plotly takes <br>) at word boundaries."""
    import textwrap

    return "<br>".join(textwrap.wrap(text, width)) or text


def _esc(text: str) -> str:
    return html.escape(text).replace("%", "%%")
