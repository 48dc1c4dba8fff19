"""The failure-rate metrics on hand-made scores: NaN skipped, groups that never crash."""

from __future__ import annotations

import math
from typing import Any

import pytest
from inspect_ai.scorer import SampleScore, Score

from scorers.metrics import (
    DEFAULT_GROUP_KEYS,
    by_group,
    failure_metrics,
    failure_rate,
    failure_rate_ci_high,
    failure_rate_ci_low,
    unscored,
)
from scorers.stats import wilson_interval


def sample_score(value: float, sample_id: int, **metadata: Any) -> SampleScore:
    score = Score.unscored(reason="grader_failed") if math.isnan(value) else Score(value=value)
    return SampleScore(score=score, sample_id=sample_id, sample_metadata=metadata)


SCORES = [
    sample_score(1.0, 1, l1="A", depth=1, country="Kenya"),
    sample_score(0.0, 2, l1="A", depth=2, country=None),
    sample_score(1.0, 3, l1="B", depth=2),  # no country key at all
    sample_score(0.0, 4, l1="B", depth=3, country="Kenya"),
    sample_score(math.nan, 5, l1="B", depth=3, country="Peru"),
]


def test_overall_skips_unscored() -> None:
    assert failure_rate()(SCORES) == pytest.approx(0.5)
    assert failure_rate_ci_low()(SCORES) == pytest.approx(wilson_interval(2, 4)[0])
    assert failure_rate_ci_high()(SCORES) == pytest.approx(wilson_interval(2, 4)[1])
    assert unscored()(SCORES) == 1


def test_no_scored_samples_is_nan() -> None:
    only_unscored = SCORES[-1:]
    assert math.isnan(failure_rate()(only_unscored))
    assert math.isnan(failure_rate_ci_low()(only_unscored))
    assert math.isnan(failure_rate()([]))


def test_grouped_by_a_string_key() -> None:
    assert by_group(failure_rate(), "l1")(SCORES) == {"failure_rate{l1=A}": 0.5, "failure_rate{l1=B}": 0.5}


def test_grouped_by_a_numeric_key() -> None:
    values = by_group(failure_rate(), "depth")(SCORES)
    assert values == {"failure_rate{depth=1}": 1.0, "failure_rate{depth=2}": 0.5, "failure_rate{depth=3}": 0.0}


def test_a_missing_key_groups_with_none() -> None:
    values = by_group(failure_rate(), "country")(SCORES)
    assert values == {"failure_rate{country=Kenya}": 0.5, "failure_rate{country=None}": 0.5}


def test_a_key_no_sample_has_is_omitted() -> None:
    assert by_group(failure_rate(), "user_group")(SCORES) == {}


def test_grouped_intervals() -> None:
    values = by_group(failure_rate_ci_high(), "l1")(SCORES)
    assert values["failure_rate_ci_high{l1=A}"] == pytest.approx(wilson_interval(1, 2)[1])


def test_grouped_with_nothing_scored_is_one_named_nan() -> None:
    values = by_group(failure_rate(), "l1")([])
    assert list(values) == ["failure_rate{l1}"] and math.isnan(values["failure_rate{l1}"])


def test_failure_metrics_covers_every_key() -> None:
    metrics = failure_metrics()
    assert len(metrics) == 3 + 3 * len(DEFAULT_GROUP_KEYS)
    assert len(failure_metrics(group_keys=())) == 3


def test_group_names_survive_the_terminal_summary() -> None:
    """Inspect's terminal summary prints metric names as rich markup: `[l1=A]` would vanish as a tag."""
    from rich.text import Text

    names = [*by_group(failure_rate(), "l1")(SCORES), *by_group(failure_rate(), "depth")(SCORES)]
    assert names and all(Text.from_markup(name).plain == name for name in names)
    assert Text.from_markup("failure_rate[l1=A]").plain == "failure_rate"  # what the old names printed as
