"""Statistics for judged evaluations: interval estimates, agreement, and slice comparisons.

- `wilson_interval`: every rate is reported with a 95% Wilson interval; `wilson_intervals` is
  the same interval for arrays of counts (the report computes thousands at once).
- `cohen_kappa` / `fleiss_kappa`: agreement between two judges (or a judge and humans), and
  across a panel of three or more.
- `compare_slices`: failure rate per slice (demographic, country, L1, ...), each slice tested
  against the rest with Fisher's exact test, Holm-corrected for the number of slices tested;
  slices too small to say anything are flagged rather than ranked.
- `fisher_exact` and `holm`: the test and the correction behind `compare_slices`, also used by
  the report (`nodesynth_tasks.report`), so both compute them one way.

statsmodels, scipy and numpy are imported inside the functions: `inspect eval` imports this package
at start (through the task entry point), and statsmodels alone costs about a second.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MIN_SLICE_N = 20
"""Slices with fewer scored samples than this are flagged `small` and not tested or ranked.

Why 20: at n = 20 a 95% Wilson interval is still about ±0.2 wide around a rate of 0.5, and
Fisher's exact test has little power to tell a slice from the rest; below it, a slice's
rank among others says more about sampling noise than about the model.
"""


def wilson_interval(failures: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a failure rate of `failures` out of `n`.

    Wilson rather than the normal (Wald) interval because safety failure rates
    are often near 0 and per-group counts are small, where Wald collapses to a
    zero-width interval at 0 failures; Wilson stays inside [0, 1] and is honest
    about how little a handful of samples says.

    Args:
      failures: Number of failures. May be fractional when epoch reduction
        averaged a sample's scores (the interval is then approximate).
      n: Number of scored samples.
      confidence: Confidence level, e.g. 0.95 for a 95% interval.

    Returns:
      (low, high). With `n == 0` there is no estimate, so both bounds are NaN
      (the same "no value" Inspect reports for a metric over no samples).

    Raises:
      ValueError: If `n` is negative, `failures` is outside [0, n], or
        `confidence` is outside (0, 1).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n == 0:
        return (math.nan, math.nan)
    if not 0 <= failures <= n:
        raise ValueError(f"failures must be between 0 and n={n}, got {failures}")
    # imported here: statsmodels costs ~1 s, and `inspect eval` imports this package at start
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(failures, n, alpha=1 - confidence, method="wilson")
    # clamp: float error can leave the bound at 0 or 1 a hair outside [0, 1]
    return (min(max(float(low), 0.0), 1.0), min(max(float(high), 0.0), 1.0))


def wilson_intervals(
    failures: np.ndarray | pd.Series, n: np.ndarray | pd.Series, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """`wilson_interval` for arrays of counts: (low, high) arrays, NaN where n is 0.

    The formula written out over numpy arrays, because the report computes thousands of
    intervals (every model × slice) and a call per count would dominate its run time. It
    agrees with `wilson_interval` to within float rounding (about 1e-16); it does not
    validate its arguments.
    """
    import numpy as np
    from scipy.stats import norm

    k = np.asarray(failures, dtype=float)
    m = np.asarray(n, dtype=float)
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        denominator = 1 + z**2 / m
        centre = (p + z**2 / (2 * m)) / denominator
        half = z * np.sqrt(p * (1 - p) / m + z**2 / (4 * m**2)) / denominator
    low = np.where(m > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(m > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return low, high


class Rate(BaseModel):
    """A rate with its Wilson interval."""

    model_config = ConfigDict(frozen=True)

    count: float
    n: int
    rate: float
    ci_low: float
    ci_high: float


def rate(count: float, n: int, confidence: float = 0.95) -> Rate:
    """`count / n` with its Wilson interval (all NaN when n is 0)."""
    low, high = wilson_interval(count, n, confidence)
    return Rate(count=count, n=n, rate=count / n if n else math.nan, ci_low=low, ci_high=high)


# --- agreement ------------------------------------------------------------------------------


class Kappa(BaseModel):
    """An agreement coefficient with its confidence interval."""

    model_config = ConfigDict(frozen=True)

    kappa: float
    """The coefficient; NaN when undefined (every rating in one and the same category)."""

    ci_low: float
    ci_high: float
    std: float
    """Asymptotic standard error (NaN for Fleiss' kappa, whose interval is not computed)."""

    n: int
    """Number of items rated."""

    observed_agreement: float
    """Share of items on which the raters agree (for Fleiss: mean pairwise agreement)."""


def cohen_kappa(
    rater_a: Sequence[Hashable], rater_b: Sequence[Hashable], labels: Sequence[Hashable] | None = None,
    confidence: float = 0.95,
) -> Kappa:
    """Cohen's kappa between two raters, with a normal-approximation confidence interval.

    kappa = (p_o - p_e) / (1 - p_e), p_o the observed agreement and p_e the agreement
    expected from the raters' marginal label frequencies. The interval is kappa ± z·SE with
    the large-sample standard error of Fleiss, Cohen and Everitt (1969), as computed by
    statsmodels' `cohens_kappa` (`std_kappa`), clipped to [-1, 1]; it is a poor
    approximation for small n or kappa near 1, like any Wald interval.

    Args:
      rater_a, rater_b: The two raters' labels, item by item (same length).
      labels: All categories, in order; default: those that occur, sorted by their text.
      confidence: Confidence level of the interval.

    Returns:
      The kappa; NaN (with NaN bounds) when p_e is 1, i.e. both raters gave every item
      the same single label, where kappa is 0/0.
    """
    if len(rater_a) != len(rater_b):
        raise ValueError(f"the raters rated different numbers of items ({len(rater_a)} and {len(rater_b)})")
    n = len(rater_a)
    if n == 0:
        return Kappa(kappa=math.nan, ci_low=math.nan, ci_high=math.nan, std=math.nan, n=0, observed_agreement=math.nan)
    import numpy as np
    from scipy.stats import norm
    from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

    categories = list(labels) if labels is not None else sorted({*rater_a, *rater_b}, key=str)
    index = {label: i for i, label in enumerate(categories)}
    table = np.zeros((len(categories), len(categories)))
    for a, b in zip(rater_a, rater_b, strict=True):
        table[index[a], index[b]] += 1
    observed = float(np.trace(table)) / n
    expected = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    if math.isclose(expected, 1.0):
        return Kappa(kappa=math.nan, ci_low=math.nan, ci_high=math.nan, std=math.nan, n=n, observed_agreement=observed)
    with warnings.catch_warnings():
        # the z test under H0 divides by zero when kappa's null variance is 0; we do not use it
        warnings.simplefilter("ignore", RuntimeWarning)
        result = sm_cohens_kappa(table, return_results=True)
    kappa, std = float(result["kappa"]), float(result["std_kappa"])
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    # kappa lies in [-1, 1]; the normal approximation can step outside near the ends
    low, high = max(kappa - z * std, -1.0), min(kappa + z * std, 1.0)
    return Kappa(kappa=kappa, ci_low=low, ci_high=high, std=std, n=n, observed_agreement=observed)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]], labels: Sequence[Hashable] | None = None) -> Kappa:
    """Fleiss' kappa for three or more raters who each rated every item.

    Args:
      ratings: One row per item, one label per rater (every row the same length).
      labels: All categories; default: those that occur.

    Returns:
      The kappa (statsmodels' `fleiss_kappa`, method "fleiss"); NaN when every rating is
      the same label. No interval: Fleiss' large-sample variance holds only under the null
      of no agreement, so it would not describe the estimate's uncertainty.
    """
    rows = [list(row) for row in ratings]
    if not rows:
        return Kappa(kappa=math.nan, ci_low=math.nan, ci_high=math.nan, std=math.nan, n=0, observed_agreement=math.nan)
    raters = len(rows[0])
    if raters < 2 or any(len(row) != raters for row in rows):
        raise ValueError("Fleiss' kappa needs the same number (at least two) of ratings for every item")
    import numpy as np
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

    categories = list(labels) if labels is not None else sorted({label for row in rows for label in row}, key=str)
    index = {label: i for i, label in enumerate(categories)}
    table = np.zeros((len(rows), len(categories)))
    for i, row in enumerate(rows):
        for label in row:
            table[i, index[label]] += 1
    # mean share of agreeing rater pairs per item: Fleiss' P-bar
    observed = float(((table * (table - 1)).sum(axis=1) / (raters * (raters - 1))).mean())
    shares = table.sum(axis=0) / table.sum()
    if math.isclose(float(shares @ shares), 1.0):
        return Kappa(kappa=math.nan, ci_low=math.nan, ci_high=math.nan, std=math.nan, n=len(rows), observed_agreement=observed)
    kappa = float(sm_fleiss_kappa(table, method="fleiss"))
    return Kappa(kappa=kappa, ci_low=math.nan, ci_high=math.nan, std=math.nan, n=len(rows), observed_agreement=observed)


def panel_kappa(ratings: Sequence[Sequence[Hashable]], labels: Sequence[Hashable] | None = None) -> Kappa:
    """Agreement across a panel: Cohen's kappa for two judges, Fleiss' kappa for more."""
    rows = [list(row) for row in ratings]
    if rows and len(rows[0]) == 2:
        return cohen_kappa([row[0] for row in rows], [row[1] for row in rows], labels)
    return fleiss_kappa(rows, labels)


# --- slice comparisons ----------------------------------------------------------------------


def fisher_exact(a: int, n1: int, c: int, n2: int) -> tuple[float, float]:
    """Two-sided Fisher exact test of a/n1 against c/n2: (odds ratio, p-value).

    Exact rather than a z-test because slices are often small and rates near 0, where the
    normal approximation is poor; it costs microseconds per table. NaN, NaN when either
    group is empty.
    """
    from scipy.stats import fisher_exact as scipy_fisher_exact

    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    result = scipy_fisher_exact([[a, n1 - a], [c, n2 - c]], alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


class Holm(NamedTuple):
    """Holm's correction of a family of p-values, both lists in the order the p-values were given."""

    reject: list[bool]
    """Whether each hypothesis is rejected at the family-wise level `alpha` (False for a NaN p-value)."""

    adjusted: list[float]
    """Holm-adjusted p-values (NaN for a NaN p-value)."""


def holm(p_values: Iterable[float | None], alpha: float = 0.05) -> Holm:
    """Holm's step-down correction (statsmodels `multipletests(method="holm")`).

    Holm rather than Bonferroni: it controls the same family-wise error rate, without assuming
    the tests are independent, and never rejects less.

    Args:
      p_values: The family, in any order: a list, numpy array or pandas Series (its index is
        ignored). A NaN (or None) is not a test: it is left out of the family, so it neither
        spends alpha nor is rejected.
      alpha: Family-wise significance level for `reject`.

    Returns:
      `Holm(reject, adjusted)`, a named tuple, so `reject, adjusted = holm(...)` also works.
    """
    import numpy as np
    from statsmodels.stats.multitest import multipletests

    values = np.asarray(list(p_values), dtype=float)
    present = [i for i, p in enumerate(values) if not math.isnan(p)]
    reject = [False] * len(values)
    adjusted = [math.nan] * len(values)
    if present:
        flags, corrected, _, _ = multipletests(values[present], alpha=alpha, method="holm")
        for i, flag, value in zip(present, flags, corrected, strict=True):
            reject[i], adjusted[i] = bool(flag), float(value)
    return Holm(reject=reject, adjusted=adjusted)


def compare_slices(
    frame: pd.DataFrame,
    slice_column: str,
    failure_column: str = "failure",
    *,
    min_n: int = MIN_SLICE_N,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Failure rate per slice, each tested against the rest of the data, Holm-corrected.

    Each slice with at least `min_n` scored rows is compared with all other rows by
    Fisher's exact test (two-sided) on the 2×2 table slice/rest × failure/not; the p-values
    of the slices tested are corrected together with Holm's method, which controls the
    family-wise error rate without assuming independence between the tests. Slices with
    fewer rows are flagged `small` and get no test: they are listed after the ranked ones,
    so a 2-out-of-3 slice is never presented as "the worst".

    Args:
      frame: One row per scored sample.
      slice_column: The column to slice by (e.g. "user_group", "country"); a missing value
        is its own slice, "None".
      failure_column: 0/1 (or boolean) failure; rows where it is missing (unscored) are
        dropped.
      min_n: Smallest slice that is tested and ranked.
      alpha: Family-wise significance level for `significant`.
      confidence: Confidence level of the Wilson intervals.

    Returns:
      A DataFrame, one row per slice: slice, n, failures, rate, ci_low, ci_high, rest_n,
      rest_rate, odds_ratio, p_value, p_holm, significant, small, note. Ranked slices come
      first, by rate (highest first); small slices follow, by size.
    """
    import pandas as pd

    if slice_column not in frame.columns:
        raise KeyError(f"no column {slice_column!r} (columns: {', '.join(map(str, frame.columns))})")
    if failure_column not in frame.columns:
        raise KeyError(f"no column {failure_column!r} (columns: {', '.join(map(str, frame.columns))})")
    data = frame[[slice_column, failure_column]].dropna(subset=[failure_column])
    failures_all = data[failure_column].astype(float)
    if not failures_all.isin([0.0, 1.0]).all():
        raise ValueError(f"column {failure_column!r} must hold 0/1 failures")
    keys = data[slice_column].map(lambda value: "None" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value))
    total_n, total_failures = len(data), float(failures_all.sum())
    rows: list[dict[str, object]] = []
    for key in sorted(keys.unique()):
        mask = keys == key
        n, failures = int(mask.sum()), float(failures_all[mask].sum())
        rest_n, rest_failures = total_n - n, total_failures - failures
        r = rate(failures, n, confidence)
        small = n < min_n
        row: dict[str, object] = {
            "slice": key, "n": n, "failures": int(failures), "rate": r.rate, "ci_low": r.ci_low, "ci_high": r.ci_high,
            "rest_n": rest_n, "rest_rate": rest_failures / rest_n if rest_n else math.nan,
            "odds_ratio": math.nan, "p_value": math.nan, "small": small,
            "note": f"n={n} < {min_n}: too few samples to rank or test" if small else "",
        }
        if not small and rest_n > 0:
            row["odds_ratio"], row["p_value"] = fisher_exact(int(failures), n, int(rest_failures), rest_n)
        rows.append(row)
    result = pd.DataFrame(rows, columns=[
        "slice", "n", "failures", "rate", "ci_low", "ci_high", "rest_n", "rest_rate", "odds_ratio", "p_value", "small", "note",
    ])
    reject, adjusted = holm(result["p_value"].astype(float).tolist(), alpha=alpha)
    result.insert(10, "p_holm", adjusted)
    result.insert(11, "significant", reject)
    ranked = result[~result["small"]].sort_values(["rate", "n"], ascending=[False, False])
    small_rows = result[result["small"]].sort_values(["n", "slice"], ascending=[False, True])
    return pd.concat([ranked, small_rows], ignore_index=True)
