"""Assembling the views into one self-contained HTML file.

Self-contained means it works offline and fetches nothing: plotly's JavaScript is inlined once,
the figures are one JSON block rendered by a short script, fonts are the system's, and there
is no link to any other file. The script records what it rendered in `window.__report`
({total, rendered, errors}) and on `<body data-charts-done="true" data-charts-rendered=N>`,
so a browser test (and a curious reader) can check every chart drew.
"""

from __future__ import annotations

import html
import json
import math
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .views import Study, View, key_findings

if TYPE_CHECKING:
    import pandas as pd

MAX_TABLE_ROWS = 60

CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#e4e7eb; --accent:#0b5394; --bg:#f5f7fa; --warn:#8a5a00; }
* { box-sizing: border-box; }
body { margin:0; font-family: system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif; color:var(--ink);
       background:var(--bg); line-height:1.45; font-size:15px; }
header { background:#102a43; color:white; padding:28px 40px 22px; }
header h1 { margin:0 0 4px; font-size:26px; font-weight:650; }
header p { margin:2px 0; color:#bcccdc; }
main { max-width:1240px; margin:0 auto; padding:20px 28px 60px; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:18px 0; }
.card { background:white; border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:150px; }
.card b { display:block; font-size:22px; }
.card span { color:var(--muted); font-size:13px; }
.box { background:white; border:1px solid var(--line); border-left:4px solid var(--accent); border-radius:6px; padding:12px 18px; margin:14px 0; }
.box h2 { font-size:16px; margin:0 0 6px; }
.box ul { margin:4px 0; padding-left:20px; }
.notes { border-left-color:#f0b429; }
nav.toc { background:white; border:1px solid var(--line); border-radius:6px; padding:10px 18px; margin:14px 0; columns:2; }
nav.toc a { color:var(--accent); text-decoration:none; display:block; padding:1px 0; break-inside:avoid; }
nav.toc h2 { column-span:all; font-size:16px; margin:0 0 6px; }
h2.section { margin:36px 0 8px; font-size:21px; border-bottom:2px solid var(--line); padding-bottom:4px; }
section.view { background:white; border:1px solid var(--line); border-radius:8px; padding:14px 20px 16px; margin:14px 0; }
section.view h3 { margin:0 0 6px; font-size:17px; }
p.how { margin:0 0 10px; color:var(--muted); max-width:980px; }
p.note { margin:8px 0; color:var(--warn); background:#fffbea; border-radius:4px; padding:6px 10px; }
div.chart { width:100%; min-height:200px; }
details { margin-top:8px; }
summary { cursor:pointer; color:var(--accent); }
table.data { border-collapse:collapse; font-size:13px; margin-top:6px; }
table.data th, table.data td { border-bottom:1px solid var(--line); padding:3px 10px; text-align:right; }
table.data th { background:#f0f4f8; position:sticky; top:0; }
table.data td:first-child, table.data th:first-child { text-align:left; }
table.data td.text { text-align:left; }
footer { color:var(--muted); font-size:13px; margin-top:40px; }
code { background:#f0f4f8; padding:1px 4px; border-radius:3px; }
"""

RENDER_SCRIPT = """
(function () {
  var status = window.__report = { total: 0, rendered: 0, errors: [] };
  window.addEventListener('error', function (event) { status.errors.push(String(event.message || event)); });
  var figures = JSON.parse(document.getElementById('report-figures').textContent);
  var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ['lasso2d', 'select2d'],
                 toImageButtonOptions: { format: 'png', scale: 2 } };
  var keys = Object.keys(figures);
  status.total = keys.length;
  var pending = keys.map(function (key) {
    var element = document.getElementById('fig-' + key);
    try {
      return Plotly.newPlot(element, figures[key].data, figures[key].layout, config).then(function () {
        element.setAttribute('data-rendered', 'true');
        status.rendered += 1;
      }, function (error) {
        element.setAttribute('data-rendered', 'error');
        status.errors.push(key + ': ' + error);
      });
    } catch (error) {
      element.setAttribute('data-rendered', 'error');
      status.errors.push(key + ': ' + error);
      return Promise.resolve();
    }
  });
  Promise.all(pending).then(function () {
    document.body.setAttribute('data-charts-rendered', String(status.rendered));
    document.body.setAttribute('data-charts-done', 'true');
  });
})();
"""


def render_html(views: list[View], s: Study, tidy: pd.DataFrame, *, title: str, notes: list[str]) -> str:
    """The whole report page as one string."""
    import plotly.io as pio
    from plotly.offline import get_plotlyjs

    figures = {view.key: view.figure for view in views if view.figure is not None}
    # "</" would end the <script> element early inside the JSON
    figures_json = "{" + ",".join(
        f"{json.dumps(key)}:{pio.to_json(figure, validate=False)}" for key, figure in figures.items()
    ) + "}"
    figures_json = figures_json.replace("</", "<\\/")

    body: list[str] = [
        _header(s, tidy, title), "<main>", _cards(s, tidy), _findings(key_findings(views, s)), _how_to_read(s, tidy),
        _notes(notes), _toc(views),
    ]
    section = None
    for view in views:
        if view.section != section:
            section = view.section
            body.append(f'<h2 class="section" id="section-{_slug(section)}">{_e(section)}</h2>')
        body.append(_view(view))
    body.append(
        "<footer>Made by <code>nodesynth report</code> (NodeSynth for Inspect) on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Every number here is in the CSV tables "
        "(<code>--tables DIR</code>) and can be recomputed from the tidy table "
        "(<code>nodesynth_tasks.report.tidy_table</code>).</footer></main>"
    )
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style>",
        # plotly.js, inlined once: the page must work offline and fetch nothing
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        *body,
        f'<script type="application/json" id="report-figures">{figures_json}</script>',
        f"<script>{RENDER_SCRIPT}</script>",
        "</body></html>\n",
    ])


# ------------------------------------------------------------------------------------------
# page parts


def _header(s: Study, tidy: pd.DataFrame, title: str) -> str:
    sources = sorted({str(x).rsplit("/", 1)[-1] for x in s.rows["source"]}) if len(s.rows) else []
    domains = sorted({str(d) for d in s.rows["domain"].dropna()}) if len(s.rows) else []
    what = f"{len(sources)} {'file' if len(sources) == 1 else 'files'}"
    return (
        f"<header><h1>{_e(title)}</h1>"
        f"<p>Where the models fail: by taxonomy node, depth, user group and demographic intersection.</p>"
        f"<p>Domain: {_e(', '.join(domains) or 'unknown')} · results from {what}: {_e(_listing(sources, 4))}</p></header>"
    )


def _cards(s: Study, tidy: pd.DataFrame) -> str:
    scored = s.scored
    queries = scored["sample_id"].nunique() if len(scored) else 0
    unscored = len(s.rows) - len(scored)
    overall = scored["failure"].mean() if len(scored) else math.nan
    depth = scored.drop_duplicates("sample_id")["depth"].value_counts() if len(scored) else {}
    depth_text = " / ".join(f"{int(depth.get(d, 0))}" for d in (2, 3)) if len(scored) else "–"
    cards = [
        (str(len(s.models)), "models evaluated"),
        (f"{queries:,}", "queries"),
        (depth_text, "depth-2 / depth-3 queries"),
        (f"{len(scored):,}", "scored responses"),
        (f"{unscored:,}", "without a verdict (excluded)"),
        ("–" if math.isnan(overall) else f"{overall * 100:.1f}%", "failure rate, all models"),
    ]
    return '<div class="cards">' + "".join(f"<div class=\"card\"><b>{_e(v)}</b><span>{_e(k)}</span></div>" for v, k in cards) + "</div>"


def _how_to_read(s: Study, tidy: pd.DataFrame) -> str:
    rubric, failure_labels = _rubric(s)
    if s.scorer is None:
        failure = "No scorer in these results gives a failure verdict, so there are no failure rates to show."
    else:
        failure = (
            f"A <b>failure</b> is a response the scorer <code>{_e(s.scorer)}</code> judged a failure"
            + (f" under the rubric <code>{_e(rubric)}</code>" if rubric else "")
            + (f" (failure label: {_e(' / '.join(repr(x) for x in failure_labels))})" if failure_labels else "")
            + ". The <b>failure rate</b> is failures ÷ scored responses; responses the scorer could not score are "
            "counted above and left out of every rate."
        )
    items = [
        failure,
        (
            "Every rate has a <b>95% Wilson interval</b> (the black bars, the <i>ci_low</i>–<i>ci_high</i> columns): "
            "with few responses it is wide, so compare intervals, not just bars."
        ),
        (
            "Differences are tested with two-sided <b>Fisher exact tests</b>; where many are tested at once the p-values "
            "are <b>Holm-corrected</b>, so a 'significant' gap is unlikely to be a fluke of testing many slices."
        ),
        (
            "Charts are interactive: hover for counts and intervals, drag to zoom, double-click to reset, click legend "
            "entries to hide a model. Each view's numbers are in the table below it and in the CSV files written with "
            "--tables."
        ),
    ]
    return '<div class="box"><h2>How to read this report</h2><ul>' + "".join(f"<li>{i}</li>" for i in items) + "</ul></div>"


def _findings(found: list[str]) -> str:
    if not found:
        return ""
    return '<div class="box"><h2>Key findings</h2><ul>' + "".join(f"<li>{_e(f)}</li>" for f in found) + "</ul></div>"


def _notes(notes: list[str]) -> str:
    if not notes:
        return ""
    return '<div class="box notes"><h2>Notes on the input</h2><ul>' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul></div>"


def _toc(views: list[View]) -> str:
    links = "".join(f'<a href="#{_e(view.key)}">{_e(view.title)}</a>' for view in views)
    return f'<nav class="toc"><h2>Contents</h2>{links}</nav>'


def _view(view: View) -> str:
    parts = [f'<section class="view" id="{_e(view.key)}"><h3>{_e(view.title)}</h3>']
    if view.description:
        parts.append(f'<p class="how">{_e(view.description)}</p>')
    if view.note:
        parts.append(f'<p class="note">{_e(view.note)}</p>')
    if view.figure is not None:
        parts.append(f'<div class="chart" id="fig-{_e(view.key)}" data-chart="{_e(view.key)}"></div>')
    if view.shown and view.shown in view.tables and len(view.tables[view.shown]):
        table = view.tables[view.shown]
        parts.append(f"<details{' open' if view.figure is None else ''}><summary>Table: the numbers behind this view"
                     f" ({len(table)} rows)</summary>{table_html(table)}</details>")
    elif view.tables and any(len(t) for t in view.tables.values()):
        names = ", ".join(f"{name}.csv" for name, t in view.tables.items() if len(t))
        parts.append(f'<p class="how">Numbers: {_e(names)} (written with --tables).</p>')
    parts.append("</section>")
    return "".join(parts)


def table_html(table: pd.DataFrame) -> str:
    """A table as HTML: rates as percentages, p-values to 3 significant figures, capped in length."""
    shown = table.head(MAX_TABLE_ROWS)
    header = "".join(f"<th>{_e(str(c))}</th>" for c in shown.columns)
    rows = []
    for record in shown.itertuples(index=False):
        cells = []
        for column, value in zip(shown.columns, record, strict=False):
            text, is_text = _format(str(column), value)
            cells.append(f'<td class="text">{_e(text)}</td>' if is_text else f"<td>{_e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f'<p class="how">First {MAX_TABLE_ROWS} of {len(table)} rows; the CSV has them all.</p>' if len(table) > MAX_TABLE_ROWS else ""
    )
    return f'<table class="data"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>{more}'


_RATE = re.compile(r"(^|_)(rate|ci_low|ci_high|agreement|gap|difference|needs_review)(_|$)")


def _format(column: str, value: Any) -> tuple[str, bool]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"{value:,}", False
    if isinstance(value, float):
        if column.startswith("p_") or column == "p_value":
            return (f"{value:.3g}" if value >= 0.001 else f"{value:.1e}"), False
        if column.startswith(("ratio", "kappa")) or column in ("odds_ratio", "lift"):
            return f"{value:.2f}", False
        if _RATE.search(column) and "ratio" not in column:
            sign = "+" if column in ("gap", "difference") and value > 0 else ""
            return f"{sign}{value * 100:.1f}%", False
        if value.is_integer():
            return f"{int(value):,}", False
        return f"{value:.3g}", False
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return f"{int(value):,}", False
        if isinstance(value, np.floating):
            return _format(column, float(value))
        if isinstance(value, np.bool_):
            return ("yes" if value else "no"), False
    except ImportError:  # pragma: no cover
        pass
    return str(value), True


def _rubric(s: Study) -> tuple[str | None, list[str]]:
    """The study scorer's rubric name and failure labels, when the scores record a shipped rubric."""
    names = {m.get("rubric") for m in s.rows["score_metadata"] if isinstance(m, dict) and m.get("rubric")} if len(s.rows) else set()
    if len(names) != 1:
        return (", ".join(sorted(map(str, names))) or None), []
    name = str(next(iter(names)))
    try:
        from scorers.rubric import RubricError, load_rubric

        return name, list(load_rubric(name).failure_labels)
    except (RubricError, OSError, ValueError):
        return name, []


def _listing(items: list[str], limit: int) -> str:
    return ", ".join(items) if len(items) <= limit else ", ".join(items[:limit]) + f" and {len(items) - limit} more"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
