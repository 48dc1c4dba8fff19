"""Intersections: failure rate where a taxonomy node or user group meets a demographic or occupation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..stats import add_rate, rate_table
from .charts import _axis_name, _by_size, _empty, _heat_trace, _order, _size_heatmap, _zmax
from .study import ReportOptions, Study, View

if TYPE_CHECKING:
    import pandas as pd


def intersections(s: Study, options: ReportOptions) -> list[View]:
    specs = [
        ("l2", "demographics", "L2 topic × demographic group", "intersection_l2_demographic"),
        ("l2", "occupations", "L2 topic × occupation", "intersection_l2_occupation"),
        ("user_group", "demographics", "User group × demographic group", "intersection_user_group_demographic"),
    ]
    views = []
    for row, column, title, key in specs:
        views.append(_intersection(s, options, row, column, title, key))
    return views


def _intersection(s: Study, options: ReportOptions, row: str, column: str, title: str, key: str) -> View:
    import plotly.graph_objects as go

    item = column.removesuffix("s")
    exploded = s.explode(column).rename(columns={"value": item})
    exploded = exploded[exploded[row].notna()]
    description = (
        f"Failure rate where a query's {_axis_name(row)} (rows) meets {'an' if item[0] in 'aeiou' else 'a'} {item.replace('_', ' ')} "
        f"its evidence names (columns). A query naming several {column} counts in each. Use the menu to switch between "
        f"all models together and one model. Cells with fewer than {options.min_cell_n} scored responses are blank; "
        "hover for counts and the 95% interval."
    )
    if exploded.empty:
        return _empty(key, "Intersections", title, f"No sample lists any {column}.")
    table = rate_table(exploded, ["model", row, item], options.confidence)
    pooled = add_rate(table.groupby([row, item], observed=True)[["n", "failures"]].sum().reset_index(), options.confidence)
    pooled.insert(0, "model", "all models")
    table = _order(table, s.models)
    rows = _by_size(exploded, row)[: options.max_rows]
    columns = _covering_columns(exploded, row, item, rows, options.max_columns)
    figure = go.Figure()
    choices = ["all models", *s.models]
    zmax = _zmax(pooled[pooled["n"] >= options.min_cell_n]["rate"])
    for i, model in enumerate(choices):
        part = pooled if model == "all models" else table[table["model"] == model]
        trace = _heat_trace(part, row, item, rows, columns, options, zmax=zmax)
        trace.visible = i == 0
        trace.name = model
        figure.add_trace(trace)
    buttons = [
        {"label": model, "method": "update",
         "args": [{"visible": [j == i for j in range(len(choices))]}]}
        for i, model in enumerate(choices)
    ]
    figure.update_layout(
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 0, "xanchor": "left", "y": 1.0, "yanchor": "bottom",
                      "pad": {"b": 6}, "showactive": True}],
        annotations=[{"text": "responses of:", "x": 0, "xref": "paper", "xanchor": "right", "xshift": -6, "y": 1.0,
                      "yref": "paper", "yanchor": "bottom", "yshift": 12, "showarrow": False}],
    )
    _size_heatmap(figure, n_rows=len(rows), column_labels=list(figure.data[0].x), row_title=_axis_name(row),
                  column_title=column.replace("_", " "), top=50)
    capped = []
    if len(_by_size(exploded, row)) > len(rows):
        capped.append(f"the {len(rows)} most frequent {_axis_name(row)} values")
    if len(_by_size(exploded, item)) > len(columns):
        capped.append(f"{len(columns)} of the {len(_by_size(exploded, item))} {column} (each row's most frequent first)")
    note = ("Showing " + " and ".join(capped) + f"; all are in {key}.csv.") if capped else None
    return View(key=key, section="Intersections", title=title, description=description, figure=figure,
                tables={key: _concat([pooled, table])}, note=note)


def _covering_columns(data: pd.DataFrame, row: str, column: str, rows: list[str], limit: int) -> list[str]:
    """Up to `limit` columns, chosen so every shown row keeps its own most frequent columns.

    Picking only the globally most frequent columns can leave a row blank (its queries name
    rarer groups); each row first gets its share of the columns, the rest go by frequency.
    """
    counts = data[[row, column]].astype(str).value_counts()
    share = max(1, limit // max(len(rows), 1))
    chosen: list[str] = []
    for r in rows:
        if r in counts.index.get_level_values(0):
            for c in counts.loc[r].index[:share]:
                if c not in chosen and len(chosen) < limit:
                    chosen.append(str(c))
    for c in _by_size(data, column):
        if len(chosen) >= limit:
            break
        if c not in chosen:
            chosen.append(c)
    order = {c: i for i, c in enumerate(_by_size(data, column))}
    return sorted(chosen, key=lambda c: order[c])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
