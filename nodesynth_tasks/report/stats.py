"""The report's tables of failure rates, and the ratio of two rates.

The statistics themselves are the project's (`scorers.stats`: Wilson intervals, Fisher's exact
test, Holm's correction), so the report and the scorers compute them one way. `scorers` is
imported inside the functions: it brings Inspect with it (about over a second), and importing the
report should stay cheap.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

CONFIDENCE = 0.95


def rate_table(rows: pd.DataFrame, by: list[str], confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Failure rate per group of `by`: columns by + n, failures, rate, ci_low, ci_high.

    `rows` are scored rows (a boolean `failure` column without NA); n counts them.
    """
    grouped = rows.groupby(by, observed=True, dropna=False, sort=True)["failure"]
    table = grouped.agg(n="count", failures="sum").reset_index()
    table["n"] = table["n"].astype(int)
    table["failures"] = table["failures"].astype(int)
    return add_rate(table, confidence)


def add_rate(table: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Add rate, ci_low, ci_high (`scorers.stats.wilson_intervals`) to a table with n and failures."""
    from scorers.stats import wilson_intervals

    with np.errstate(divide="ignore", invalid="ignore"):
        table["rate"] = np.where(table["n"] > 0, table["failures"] / table["n"].where(table["n"] > 0, 1), np.nan)
    table["ci_low"], table["ci_high"] = wilson_intervals(table["failures"], table["n"], confidence)
    return table


def rate_ratio(a: float, n1: float, c: float, n2: float, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Ratio of two independent proportions (a/n1) / (c/n2) with Katz's log interval.

    ln(RR) ± z · sqrt(1/a − 1/n1 + 1/c − 1/n2) (Katz et al., 1978). With a zero count the
    ratio or its variance is undefined, so 0.5 is added to every cell of both 2×2 rows
    (Haldane–Anscombe): the estimate is then finite and its interval wide, as it should be.
    Returns (ratio, low, high); NaN when either n is 0.
    """
    from scipy.stats import norm

    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan, math.nan
    if a == 0 or c == 0:
        a, c, n1, n2 = a + 0.5, c + 0.5, n1 + 1, n2 + 1
    ratio = (a / n1) / (c / n2)
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    se = math.sqrt(max(1 / a - 1 / n1 + 1 / c - 1 / n2, 0.0))
    return ratio, math.exp(math.log(ratio) - z * se), math.exp(math.log(ratio) + z * se)
