"""Failure n-grams: the words of the queries each model failed, shared with other models or its own."""

from __future__ import annotations

import numpy as np

from .charts import _empty, _order, _short, _style
from .study import ReportOptions, Study, View


def failure_ngrams(s: Study, options: ReportOptions) -> View:
    import pandas as pd
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ..text import ngrams

    scored = s.scored
    name = {1: "words", 2: "bi-grams", 3: "tri-grams"}.get(options.ngram, f"{options.ngram}-grams")
    title = f"Top failure {name} per model, shared and unique"
    if scored.empty:
        return _empty("failure_ngrams", "Failure n-grams", title, "No scored samples.")
    # one row per query with each model's verdict (NaN: not scored), so n-grams are joined to
    # queries once rather than to every response
    verdicts = scored.pivot_table(index="sample_id", columns="model", values="failure", aggfunc="mean", observed=True)
    texts = scored.drop_duplicates("sample_id").set_index("sample_id")["input"].reindex(verdicts.index)
    grams = [(i, g) for i, text in enumerate(texts) for g in ngrams(str(text), options.ngram)]
    if not grams:
        return _empty("failure_ngrams", "Failure n-grams", title, "The queries have no words to count.")
    position, gram = zip(*grams, strict=True)
    pairs = pd.DataFrame(verdicts.to_numpy()[np.asarray(position)], columns=verdicts.columns)
    pairs["ngram"] = gram
    failures = pairs.groupby("ngram").sum().stack().rename("failures")
    n = pairs.groupby("ngram").count().stack().rename("n")
    counts = pd.concat([n, failures], axis=1).reset_index().rename(columns={"level_1": "model"})
    counts = counts[counts["n"] >= options.ngram_min_queries].copy()
    if np.allclose(counts["failures"], counts["failures"].round()):  # one epoch: whole numbers
        counts["failures"] = counts["failures"].round().astype(int)
    baseline = scored.groupby("model", observed=True)["failure"].mean()
    counts["rate"] = counts["failures"] / counts["n"]
    counts["lift"] = counts["rate"] / counts["model"].map(baseline).astype(float)
    # over-represented in failures (rate above the model's own) and most failures first
    top = (
        counts[(counts["failures"] > 0) & (counts["lift"] > 1)]
        .sort_values(["model", "failures", "lift"], ascending=[True, False, False])
        .groupby("model", observed=True)
        .head(options.top_ngrams)
    )
    if top.empty:
        return _empty("failure_ngrams", "Failure n-grams", title,
                      f"No {name[:-1]} occurs in {options.ngram_min_queries}+ scored queries of a model with a failure rate "
                      "above the model's own.", tables={"failure_ngrams": top})
    owners = top.groupby("ngram")["model"].agg(lambda m: sorted(set(m)))
    top = top.assign(shared_with=top.apply(lambda r: ", ".join(m for m in owners[r["ngram"]] if m != r["model"]), axis=1))
    top["kind"] = np.where(top["shared_with"] == "", "unique", "shared")
    top = _order(top[["model", "ngram", "failures", "n", "rate", "lift", "kind", "shared_with"]], s.models)
    models = [m for m in s.models if m in set(top["model"].astype(str))]
    figure = make_subplots(rows=1, cols=len(models), subplot_titles=[_short(m, 30) for m in models],
                           horizontal_spacing=min(0.12, 0.5 / max(len(models), 1)))
    for i, model in enumerate(models, start=1):
        part = top[top["model"] == model].iloc[::-1]
        for kind, color in (("shared", "#6b7b8c"), ("unique", s.colors[model])):
            sub = part[part["kind"] == kind]
            figure.add_trace(
                go.Bar(
                    x=sub["failures"], y=sub["ngram"], orientation="h", marker_color=color, name=f"{kind}",
                    legendgroup=kind, showlegend=False,
                    customdata=np.stack([sub["n"], sub["rate"], sub["lift"], sub["shared_with"]], axis=-1),
                    hovertemplate="<b>%{y}</b><br>%{x} failed of %{customdata[0]} queries (%{customdata[1]:.0%}, "
                    "%{customdata[2]:.1f}× the model's rate)<br>also top for: %{customdata[3]}<extra>" + kind + "</extra>",
                ),
                row=1, col=i,
            )
        figure.update_yaxes(categoryorder="array", categoryarray=list(part["ngram"]), row=1, col=i, automargin=True)
        figure.update_xaxes(title_text="failed queries", row=1, col=i)
    figure.add_trace(go.Bar(x=[None], y=[None], marker_color="#6b7b8c", name="grey: also in another model's top list", showlegend=True))
    figure.add_trace(go.Bar(x=[None], y=[None], marker_color="rgba(0,0,0,0)", name="coloured: only in this model's list",
                            marker_line={"color": "#333", "width": 1}, showlegend=True))
    _style(figure, height=max(380, 26 * options.top_ngrams + 180), legend={"orientation": "h", "y": -0.2},
           margin={"t": 60})
    return View(
        key="failure_ngrams",
        section="Failure n-grams",
        title=title,
        description=(
            f"For each model, the word {name} (stop words removed) that occur most often in queries the model failed, "
            f"among {name} found in at least {options.ngram_min_queries} of its scored queries and failing more often than "
            "the model does overall. Grey: also in another model's top list (a weakness models share); the model's colour: "
            "only in this model's list. Hover for the failure rate and how many times the model's own rate it is."
        ),
        figure=figure,
        tables={"failure_ngrams": top},
        shown="failure_ngrams",
    )
