"""The dataset itself: how the queries flow from domain to country (Sankey), and the taxonomy (sunburst)."""

from __future__ import annotations

import itertools

import numpy as np

from .charts import RATE_SCALE, _colorbar_trace, _empty, _rate_colors, _short, _style, _wrap, _zmax
from .study import ReportOptions, Study, View

FLOW_LEVELS = (("domain", "Domain"), ("l1", "L1"), ("l2", "L2"), ("l3", "L3"), ("user_group", "User group"), ("country", "Country"))


def dataset_flows(s: Study, options: ReportOptions) -> View:
    import pandas as pd
    import plotly.graph_objects as go

    scored = s.scored
    if scored.empty:
        return _empty("dataset_flows", "The dataset", "Domain → L1 → L2 → L3 → user group → country", "No scored samples.")
    frame = pd.DataFrame({"sample_id": scored["sample_id"].astype(str), "failure": scored["failure"]})
    for column, name in FLOW_LEVELS:
        values = scored[column].astype("object")
        missing = "(depth-2 query: no L3)" if column == "l3" else f"(no {name.lower()})"
        values = values.where(values.notna() & (values.astype(str) != ""), missing).astype(str)
        if column == "l3":
            values = values.where(~((scored["depth"] == 3) & (values == missing)).to_numpy(), "(L3 not recorded)")
        keep = set(values.value_counts().index[: options.flow_nodes])
        others = values[~values.isin(keep)].nunique()
        frame[column] = values.where(values.isin(keep), f"other {name} ({others})")
    links = []
    for (a, _), (b, _) in itertools.pairwise(FLOW_LEVELS):
        grouped = frame.groupby([a, b], observed=True).agg(queries=("sample_id", "nunique"), responses=("failure", "size"),
                                                         failures=("failure", "sum")).reset_index()
        grouped = grouped.rename(columns={a: "source", b: "target"})
        grouped.insert(0, "target_level", b)
        grouped.insert(0, "source_level", a)
        links.append(grouped)
    table = pd.concat(links, ignore_index=True)
    table["rate"] = table["failures"] / table["responses"]
    node_ids = {}
    labels: list[str] = []
    node_levels: list[str] = []
    for column, _ in FLOW_LEVELS:
        for value in frame[column].value_counts().index:
            node_ids[(column, value)] = len(labels)
            labels.append(_short(value, 30))
            node_levels.append(column)
    zmax = _zmax(table["rate"])
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": labels, "pad": 8, "thickness": 14, "color": "#6b7b8c",
                  "hovertemplate": "%{label}<br>%{value} queries<extra></extra>"},
            link={
                "source": [node_ids[(a, v)] for a, v in zip(table["source_level"], table["source"], strict=True)],
                "target": [node_ids[(b, v)] for b, v in zip(table["target_level"], table["target"], strict=True)],
                "value": table["queries"],
                "color": _rate_colors(table["rate"], zmax, alpha=0.55),
                "customdata": np.stack([table["rate"], table["responses"]], axis=-1),
                "hovertemplate": "%{source.label} → %{target.label}<br>%{value} queries, %{customdata[1]} responses"
                "<br>failure rate %{customdata[0]:.1%}<extra></extra>",
            },
        )
    )
    figure.add_trace(_colorbar_trace(zmax))
    figure.update_layout(xaxis={"visible": False}, yaxis={"visible": False})
    height = max(480, 20 * max(frame[c].nunique() for c, _ in FLOW_LEVELS) + 160)
    _style(figure, height=height, margin={"l": 10, "r": 90, "t": 40, "b": 10})
    figure.update_layout(annotations=[
        {"x": i / (len(FLOW_LEVELS) - 1), "y": 1.0, "yref": "paper", "xref": "paper", "yshift": 22, "showarrow": False,
         "text": f"<b>{name}</b>", "xanchor": ["left", "center", "center", "center", "center", "right"][i]}
        for i, (_, name) in enumerate(FLOW_LEVELS)
    ])
    return View(
        key="dataset_flows",
        section="The dataset",
        title="How the queries flow: Domain → L1 → L2 → L3 → user group → country",
        description=(
            "Band width is the number of queries; band colour is the failure rate of all models' responses to them "
            "(yellow low, red high; scale on the right). Depth-2 queries have no L3 and pass through "
            f"'(depth-2 query: no L3)'. Each level shows its {options.flow_nodes} largest nodes; the rest are grouped as 'other'."
        ),
        figure=figure,
        tables={"dataset_flows": table},
    )


def taxonomy_sunburst(s: Study, options: ReportOptions) -> View:
    import pandas as pd
    import plotly.graph_objects as go

    scored = s.scored[s.scored["l1"].notna()]
    if scored.empty:
        return _empty("taxonomy_sunburst", "The dataset", "Taxonomy sunburst", "No sample carries taxonomy labels.")
    domain = scored["domain"].astype("object").fillna("dataset").astype(str)
    levels = pd.DataFrame({
        "domain": domain,
        "l1": scored["l1"].astype(str),
        "l2": scored["l2"].astype("object").fillna("(no L2)").astype(str),
        "l3": scored["l3"].astype("object").astype(str).where(scored["l3"].notna().to_numpy(), None),
        "sample_id": scored["sample_id"].astype(str),
        "failure": scored["failure"].to_numpy(),
    })
    nodes = []
    paths = [("domain",), ("domain", "l1"), ("domain", "l1", "l2"), ("domain", "l1", "l2", "l3")]
    for path in paths:
        part = levels.dropna(subset=[path[-1]])
        grouped = part.groupby(list(path), observed=True).agg(queries=("sample_id", "nunique"), responses=("failure", "size"),
                                                            failures=("failure", "sum")).reset_index()
        for record in grouped.to_dict("records"):
            names = [str(record[p]) for p in path]
            nodes.append({"id": " / ".join(names), "parent": " / ".join(names[:-1]), "label": names[-1], "level": path[-1],
                          "queries": record["queries"], "responses": record["responses"], "failures": record["failures"]})
    table = pd.DataFrame(nodes)
    table["rate"] = table["failures"] / table["responses"]
    zmax = _zmax(table["rate"])
    figure = go.Figure(
        go.Sunburst(
            ids=table["id"], parents=table["parent"], labels=[_wrap(_short(x, 60), 20) for x in table["label"]],
            values=table["queries"], branchvalues="total", maxdepth=4, insidetextorientation="radial",
            marker={"colors": table["rate"], "colorscale": RATE_SCALE, "cmin": 0, "cmax": zmax,
                    "colorbar": {"title": {"text": "failure<br>rate"}, "tickformat": ".0%"}, "showscale": True},
            customdata=np.stack([table["rate"], table["responses"]], axis=-1),
            hovertemplate="<b>%{label}</b><br>%{value} queries, %{customdata[1]} responses"
            "<br>failure rate %{customdata[0]:.1%}<extra></extra>",
        )
    )
    _style(figure, height=620, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return View(
        key="taxonomy_sunburst",
        section="The dataset",
        title="The taxonomy as a sunburst: domain → L1 → L2 → L3",
        description=(
            "Rings from the centre out: domain, L1 categories, L2 topics, L3 terms. A sector's angle is its number of "
            "queries (an L2 sector is larger than its L3 children by its depth-2 queries); its colour is the failure rate "
            "of all models' responses. Click a sector to zoom into it, click the centre to zoom out."
        ),
        figure=figure,
        tables={"taxonomy_tree": table},
    )
