"""Key findings: a few plain sentences for the top of the page, read from the views' own tables."""

from __future__ import annotations

from ..stats import add_rate
from .charts import _p, _pct
from .study import Study, View


def key_findings(views: list[View], s: Study) -> list[str]:
    """A few plain sentences for the top of the page, read from the views' own tables."""
    tables = {name: table for view in views for name, table in view.tables.items()}
    found: list[str] = []
    if len(s.rows) and s.scored.empty:
        found.append(f"None of the {len(s.rows):,} responses has a failure verdict: the scorer '{s.scorer}' could not "
                     "score any (look at its explanations in `inspect view`; a stronger grader model usually fixes this).")
    by_model_table = tables.get("by_model")
    if by_model_table is not None and by_model_table["n"].sum() > 0:
        ranked = by_model_table[by_model_table["n"] > 0]
        top, bottom = ranked.iloc[0], ranked.iloc[-1]
        text = f"Highest failure rate: {top['model']}, {_pct(top['rate'])} (95% CI {_pct(top['ci_low'])}–{_pct(top['ci_high'])})"
        if len(ranked) > 1:
            text += f"; lowest: {bottom['model']}, {_pct(bottom['rate'])} ({_pct(bottom['ci_low'])}–{_pct(bottom['ci_high'])})"
        found.append(text + ".")
    graders = next((view for view in views if view.key == "grader_calibration" and view.tables), None)
    if graders is not None and graders.note:  # how far that rate can be trusted, right after it
        found.append(graders.note)
    by_l1_table = tables.get("by_l1")
    if by_l1_table is not None and len(by_l1_table):
        pooled = add_rate(by_l1_table.groupby("l1", observed=True)[["n", "failures"]].sum().reset_index())
        worst = pooled.sort_values("rate", ascending=False).iloc[0]
        found.append(f"Weakest L1 category across models: {worst['l1']} ({_pct(worst['rate'])} of {int(worst['n']):,} responses).")
    tests = tables.get("depth_tests")
    if tests is not None and len(tests):
        per_model = tests[tests["test"].str.startswith("Fisher")]
        deeper = per_model[per_model["difference"] > 0]
        text = (
            f"Depth: depth-3 queries failed more often than depth-2 for {len(deeper)} of {len(per_model)} models "
            f"({_points(per_model['difference'].min())} to {_points(per_model['difference'].max())}); significant after Holm "
            f"for {int(per_model['significant'].sum())}"
        )
        pooled = tests[~tests["test"].str.startswith("Fisher")]
        if len(pooled):
            row = pooled.iloc[0]
            text += (f"; over all models, per query (one test): {_pct(row['rate_depth2'])} → {_pct(row['rate_depth3'])}, "
                     f"p{_p(row['p_value'])}")
        found.append(text + ".")
    gaps = tables.get("slice_gaps_top")
    if gaps is not None and len(gaps):
        first = gaps.iloc[0]
        found.append(
            f"Largest significant slice gap: {first['model']}, {first['dimension']} '{first['slice']}': {_pct(first['rate'])} "
            f"vs {_pct(first['rest_rate'])} for the rest (n={int(first['n'])}, Holm p{_p(first['p_holm'])})."
        )
    ratio = tables.get("benchmark_ratio")
    if ratio is not None and ratio["ratio"].notna().any():
        valid = ratio.dropna(subset=["ratio"])
        found.append(
            f"Against the benchmark, NodeSynth's failure rate is {valid['ratio'].min():.1f}×–{valid['ratio'].max():.1f}× the "
            f"benchmark's across {len(valid)} models."
        )
    guard = tables.get("guard_miss_rate")
    if guard is not None and len(guard):
        found.append(f"Guard models missed {_pct(guard['miss_rate'].min())}–{_pct(guard['miss_rate'].max())} of the failures.")
    agreement = tables.get("judge_agreement")
    if agreement is not None and len(agreement):
        found.append(f"Judge agreement (kappa): {agreement['kappa'].min():.2f}–{agreement['kappa'].max():.2f}.")
    return found


def _points(difference: float) -> str:
    return f"{difference * 100:+.1f} pts"
