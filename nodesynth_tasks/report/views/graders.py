"""How far the grader behind the failure rates agrees with human labels (its calibration records).

The records come from `nodesynth_common.grader_calibration` (shipped for the embedded grader, or the
user's `--calibration FILE`). `grader_calibration` is the view with the figures; its note is the
sentence `build_views` puts beside every rate view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nodesynth_common.grader_calibration import CHANCE_KAPPA, GraderCalibration, load_records, records_for

from .charts import _empty
from .study import ReportOptions, Study, View

if TYPE_CHECKING:
    import pandas as pd

SECTION = "Judges and guards"


def study_graders(tidy: pd.DataFrame, s: Study) -> list[str]:
    """The graders that produced the study scorer's verdicts, most verdicts first."""
    rows = tidy[(tidy["suite"] == "nodesynth") & (tidy["scorer"] == s.scorer) & tidy["failure"].notna()]
    if rows.empty or "grader_model" not in rows:
        return []
    return [str(g) for g in rows["grader_model"].dropna().value_counts().index]


def study_rubrics(tidy: pd.DataFrame, s: Study) -> list[str]:
    """The rubrics behind the study scorer's verdicts (empty when the logs do not record one)."""
    rows = tidy[(tidy["suite"] == "nodesynth") & (tidy["scorer"] == s.scorer) & tidy["failure"].notna()]
    rubric = rows["score_metadata"].map(lambda m: m.get("rubric") if isinstance(m, dict) else None)
    return [str(r) for r in rubric.dropna().unique()]


def sentences(tidy: pd.DataFrame, s: Study, found: list[GraderCalibration]) -> str:
    """Each record's sentence, saying so when it was measured with another rubric than these rates'."""
    rubrics = study_rubrics(tidy, s)
    parts = []
    for record in found:
        text = record.sentence()
        if rubrics and record.scorer not in rubrics:
            text += (f" (Measured with rubric {record.scorer}; these rates use {', '.join(rubrics)}, whose agreement with "
                     "human labels is not measured.)")
        parts.append(text)
    return " ".join(parts)


def calibrations(tidy: pd.DataFrame, s: Study, options: ReportOptions) -> list[GraderCalibration]:
    records = options.calibrations if options.calibrations is not None else load_records()
    return records_for(study_graders(tidy, s), records)


def grader_calibration(tidy: pd.DataFrame, s: Study, options: ReportOptions) -> View:
    """Each grader's agreement with human labels, for the graders behind the failure rates."""
    import pandas as pd
    import plotly.graph_objects as go

    title = "Grader calibration against human labels"
    graders = study_graders(tidy, s)
    found = calibrations(tidy, s, options)
    if not found:
        which = ", ".join(graders) if graders else "no model grader"
        return _empty("grader_calibration", SECTION, title,
                      f"The failure rates come from {which}, with no calibration record: how far they can be trusted is not "
                      "measured. Measure it with `nodesynth calibrate FILE --scorer RUBRIC --grader MODEL --json > record.json` "
                      "on human-labelled responses, then `nodesynth report ... --calibration record.json`.")
    table = pd.DataFrame([{
        "grader": r.grader, "rubric": r.scorer, "labelled_file": r.file, "n": r.n, "accuracy": r.accuracy,
        "accuracy_ci_low": r.accuracy_ci_low, "accuracy_ci_high": r.accuracy_ci_high, "kappa": r.kappa,
        "kappa_ci_low": r.kappa_ci_low, "kappa_ci_high": r.kappa_ci_high, "constrained": r.constrained,
        "prior_correction": r.prior_correction, "judgement": r.judgement,
    } for r in found])
    kappa = table["kappa"].fillna(0.0)
    figure = go.Figure(go.Bar(
        x=table["grader"], y=kappa, marker_color=["#D55E00" if j == "near chance" else "#0072B2" for j in table["judgement"]],
        error_y={"type": "data", "symmetric": False, "array": (table["kappa_ci_high"] - kappa).fillna(0),
                 "arrayminus": (kappa - table["kappa_ci_low"]).fillna(0), "color": "#222"},
        text=table["judgement"], textposition="outside",
        hovertemplate="<b>%{x}</b><br>kappa %{y:.2f} (%{text})<extra></extra>",
    ))
    figure.update_layout(height=360, margin={"t": 30}, yaxis={"title": "Cohen's kappa vs human labels", "range": [-1, 1.05]},
                         plot_bgcolor="white")
    uncovered = [g for g in graders if g not in set(table["grader"])]
    note = sentences(tidy, s, found)
    if uncovered:
        note += f" No record for {', '.join(uncovered)}."
    return View(
        key="grader_calibration", section=SECTION, title=title,
        description=(
            "How often each grader behind the failure rates agrees with human labels on a labelled file (Cohen's kappa with "
            f"its 95% interval: 1 is perfect, 0 is chance). Below {CHANCE_KAPPA} or with an interval reaching 0 the grader is near "
            "chance and its rates are not findings; the same sentence stands beside every rate view."
        ),
        figure=figure, tables={"grader_calibration": table}, shown="grader_calibration", note=note,
    )
