"""Wilson intervals against published values and the formula computed by hand; Fisher's test and
Holm's correction against scipy and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import fisher_exact as scipy_fisher_exact
from statsmodels.stats.multitest import multipletests

from scorers.stats import Holm, fisher_exact, holm, wilson_interval, wilson_intervals

Z95 = 1.959963984540054  # the 0.975 quantile of the standard normal


def wilson_by_hand(failures: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval, written out without statsmodels."""
    p = failures / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(
    ("failures", "n", "expected"),
    [(0, 10, (0.0, 0.2775)), (5, 10, (0.2366, 0.7634)), (10, 10, (0.7225, 1.0))],
)
def test_known_values(failures: int, n: int, expected: tuple[float, float]) -> None:
    low, high = wilson_interval(failures, n)
    assert low == pytest.approx(expected[0], abs=1e-4)
    assert high == pytest.approx(expected[1], abs=1e-4)


@pytest.mark.parametrize(("failures", "n"), [(0, 10), (5, 10), (1, 3), (7, 50), (49, 50), (120, 1000), (1, 1)])
def test_matches_the_formula(failures: int, n: int) -> None:
    by_hand = wilson_by_hand(failures, n)
    assert wilson_interval(failures, n) == pytest.approx(by_hand, abs=5e-5)


def test_other_confidence_levels() -> None:
    z90 = 1.6448536269514722
    assert wilson_interval(3, 20, confidence=0.90) == pytest.approx(wilson_by_hand(3, 20, z90), abs=5e-5)
    assert wilson_interval(3, 20, confidence=0.99)[0] < wilson_interval(3, 20)[0]


def test_no_samples_is_nan() -> None:
    low, high = wilson_interval(0, 0)
    assert math.isnan(low) and math.isnan(high)


@pytest.mark.parametrize(("failures", "n", "confidence"), [(11, 10, 0.95), (-1, 10, 0.95), (1, -1, 0.95), (1, 10, 1.0)])
def test_invalid_arguments(failures: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(failures, n, confidence)


# --- arrays of counts -----------------------------------------------------------------------


def test_wilson_intervals_match_the_scalar_interval() -> None:
    failures, n = np.array([0, 1, 7, 50, 3]), np.array([10, 1, 20, 50, 0])
    for confidence in (0.90, 0.95, 0.99):
        low, high = wilson_intervals(failures, n, confidence)
        for f, m, lo, hi in zip(failures, n, low, high, strict=True):
            if m == 0:
                assert math.isnan(lo) and math.isnan(hi)
            else:
                assert (lo, hi) == pytest.approx(wilson_interval(int(f), int(m), confidence), abs=1e-12)


# --- Fisher's exact test --------------------------------------------------------------------


@pytest.mark.parametrize(("a", "n1", "c", "n2"), [(3, 10, 1, 12), (0, 20, 5, 20), (7, 7, 0, 9), (4, 40, 4, 40)])
def test_fisher_exact_is_scipys_two_sided_test(a: int, n1: int, c: int, n2: int) -> None:
    expected = scipy_fisher_exact([[a, n1 - a], [c, n2 - c]], alternative="two-sided")
    assert fisher_exact(a, n1, c, n2) == pytest.approx((expected.statistic, expected.pvalue))


def test_fisher_exact_with_an_empty_group_is_no_test() -> None:
    assert all(math.isnan(x) for x in fisher_exact(0, 0, 3, 10) + fisher_exact(3, 10, 0, 0))


# --- Holm's correction against statsmodels ---------------------------------------------------


FAMILIES = {
    "textbook": [0.01, 0.02, 0.03, 0.04, 0.05],
    "unsorted": [0.04, 0.001, 0.2, 0.013, 0.03],
    "ties": [0.01, 0.01, 0.04, 0.04, 0.02, 0.02],
    "all equal": [0.02] * 4,
    "p = 1": [1.0, 0.5, 1.0, 0.004],
    "p = 0": [0.0, 0.0, 0.05, 0.9],
    "adjusted above 1": [0.6, 0.7, 0.8],
    "at the boundary": [0.0125, 0.05, 0.0167, 0.025],
    "one test": [0.03],
    "random": list(np.random.default_rng(10).uniform(0, 0.1, 40)),
}


@pytest.mark.parametrize("alpha", [0.05, 0.1])
@pytest.mark.parametrize("family", list(FAMILIES), ids=list(FAMILIES))
def test_holm_is_statsmodels_holm(family: str, alpha: float) -> None:
    p_values = FAMILIES[family]
    expected_reject, expected_adjusted, _, _ = multipletests(p_values, alpha=alpha, method="holm")
    result = holm(p_values, alpha=alpha)
    assert result.adjusted == pytest.approx(list(expected_adjusted), abs=1e-15)
    assert result.reject == [bool(r) for r in expected_reject]
    assert all(0 <= p <= 1 for p in result.adjusted)


def test_holm_leaves_nan_and_none_out_of_the_family() -> None:
    # NaN is "no test": the family is the other three, so m = 3, not 5
    result = holm([0.01, math.nan, 0.04, None, 0.02])
    expected_reject, expected_adjusted, _, _ = multipletests([0.01, 0.04, 0.02], method="holm")
    assert [result.adjusted[i] for i in (0, 2, 4)] == pytest.approx(list(expected_adjusted))
    assert [result.reject[i] for i in (0, 2, 4)] == [bool(r) for r in expected_reject]
    assert math.isnan(result.adjusted[1]) and math.isnan(result.adjusted[3])
    assert result.reject[1] is False and result.reject[3] is False
    nothing = holm([math.nan, math.nan])
    assert nothing.reject == [False, False] and all(math.isnan(p) for p in nothing.adjusted)


def test_holm_takes_arrays_and_series_and_keeps_their_order() -> None:
    p_values = [0.04, 0.001, math.nan, 0.013]
    expected = holm(p_values)
    # a Series filtered out of a larger table keeps its labels; they must not be read as positions
    series = pd.Series(p_values, index=[10, 3, 7, 0])
    for given in (np.asarray(p_values), series, tuple(p_values)):
        result = holm(given)
        assert result.reject == expected.reject
        assert result.adjusted == pytest.approx(expected.adjusted, nan_ok=True)
    assert expected.adjusted[1] == pytest.approx(0.003) and expected.adjusted[3] == pytest.approx(0.026)


def test_holm_result_shape() -> None:
    result = holm([0.01, 0.04])
    reject, adjusted = result  # a named tuple: unpacks as (reject, adjusted)
    assert (reject, adjusted) == (result.reject, result.adjusted) and isinstance(result, Holm)
    assert holm([]) == Holm(reject=[], adjusted=[])
