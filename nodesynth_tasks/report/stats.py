"""The report's tables of failure rates, and the ratio of two rates.

The statistics themselves are the project's (`scorers.stats`: Wilson intervals, Fisher's exact
test, Holm's correction), so the report and the scorers compute them one way. `scorers` is
imported inside the functions: it brings Inspect with it (about over a second), and importing the
report should stay cheap.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

CONFIDENCE = 0.95


def rate_table(rows: pd.DataFrame, by: list[str], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Failure rate per group of `by`: columns by + n, failures, rate, ci_low, ci_high.

    `rows` are scored samples (a `failure` column without NA: 0/1, or a sample's mean over its
    epochs); n counts them, failures sums them (whole unless epochs disagreed).
    """
    grouped = rows.groupby(by, observed=True, dropna=False, sort=True)["failure"]
    table = grouped.agg(n="count", failures="sum").reset_index()
    table["n"] = table["n"].astype(int)
    table["failures"] = whole(table["failures"])
    return add_rate(table, confidence)


def whole(counts: pd.Series) -> pd.Series:
    """Counts as integers when they are whole (always, with one epoch); else as they are (a
    sample's failure averaged over epochs that disagreed is a fraction, as in Inspect's metric)."""
    values = counts.astype(float)
    return values.round().astype(int) if np.allclose(values, values.round()) else values


def exact_test_count(failures: float) -> int:
    """A failure count for an exact test, which needs whole responses: rounded to the nearest."""
    return int(round(float(failures)))


def add_rate(table: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Add rate, ci_low, ci_high (`scorers.stats.wilson_intervals`) to a table with n and failures."""
    from scorers.stats import wilson_intervals

    with np.errstate(divide="ignore", invalid="ignore"):
        table["rate"] = np.where(table["n"] > 0, table["failures"] / table["n"].where(table["n"] > 0, 1), np.nan)
    table["ci_low"], table["ci_high"] = wilson_intervals(table["failures"], table["n"], confidence)
    return table


def rate_ratio(a: float, n1: float, c: float, n2: float, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Ratio of two independent proportions (a/n1) / (c/n2) with Katz's log interval.

    ln(RR) ± z · sqrt(1/a − 1/n1 + 1/c − 1/n2) (Katz et al., 1978). A zero cell of the 2×2 table
    (a, n1 − a, c, n2 − c) becomes 0.5, as in statsmodels' `Table2x2(..., shift_zeros=True)`
    `.riskratio_confint()` (which, whatever its docstring says, shifts only the zero cells): at a
    zero count the ratio or its variance is undefined, and at a 100% rate that side's variance term
    is 0, so `rate_ratio(10, 10, 10, 10)` would otherwise claim the exact interval [1, 1] from 20
    responses (corrected: [0.83, 1.21]). The ratio itself is the plain (a/n1) / (c/n2), the one a
    reader recomputes from the two rates shown, unless a count is zero (0 or infinite, no log):
    then it is the corrected table's, like the interval's centre.
    Returns (ratio, low, high); NaN when either n is 0.
    """
    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan, math.nan
    plain = (a / n1) / (c / n2) if a > 0 and c > 0 else None
    a, b, c, d = (cell if cell > 0 else 0.5 for cell in (a, n1 - a, c, n2 - c))
    n1, n2 = a + b, c + d
    centre = (a / n1) / (c / n2)
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    se = math.sqrt(max(1 / a - 1 / n1 + 1 / c - 1 / n2, 0.0))
    return plain or centre, math.exp(math.log(centre) - z * se), math.exp(math.log(centre) + z * se)
