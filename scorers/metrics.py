"""Failure-rate metrics with Wilson intervals, overall and per group of sample metadata.

The scores these metrics read are 1.0 (failure) and 0.0 (not a failure), so the
mean is the failure rate. An unscored sample carries the NaN sentinel of
`Score.unscored()`: Inspect drops those before calling a task's metrics (and
counts them as `EvalScore.unscored_samples`); the metrics here skip NaN too, so
they give the same answer when called directly on a log's sample scores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import cast

from inspect_ai.scorer import Metric, MetricProtocol, SampleScore, Value, grouped, metric
from inspect_ai.util import registry_info

from scorers.stats import wilson_interval

DEFAULT_GROUP_KEYS: tuple[str, ...] = ("l1", "depth", "user_group", "country", "language", "tone")
"""QueryRecord fields the failure rate is broken down by (`tone` only for datasets built with `tones:`)."""


Counts = Callable[[list[SampleScore]], tuple[float, int]]
"""Reads (events, trials) from a list of sample scores, e.g. (failures, scored samples)."""


def rate_metrics(
    name: str, counts: Counts, share_of: str
) -> tuple[Callable[[], Metric], Callable[..., Metric], Callable[..., Metric]]:
    """Register `<name>`, `<name>_ci_low` and `<name>_ci_high`: a rate and its Wilson interval.

    Args:
      name: The rate's metric name, as it appears in logs (e.g. "flag_rate").
      counts: (events, trials) from the sample scores; the rate is events / trials, NaN for 0 trials.
      share_of: What the rate is a share of, for the docstrings ("scored samples that failed").
    """

    def rate() -> Metric:
        def compute(scores: list[SampleScore]) -> Value:
            events, trials = counts(scores)
            return events / trials if trials else math.nan

        return compute

    def ci_low(confidence: float = 0.95) -> Metric:
        def compute(scores: list[SampleScore]) -> Value:
            return wilson_interval(*counts(scores), confidence=confidence)[0]

        return compute

    def ci_high(confidence: float = 0.95) -> Metric:
        def compute(scores: list[SampleScore]) -> Value:
            return wilson_interval(*counts(scores), confidence=confidence)[1]

        return compute

    rate.__doc__ = f"Share of {share_of} (NaN when there is none)."
    ci_low.__doc__ = f"Lower bound of the Wilson interval for the share of {share_of}."
    ci_high.__doc__ = f"Upper bound of the Wilson interval for the share of {share_of}."
    return (
        cast(Callable[[], Metric], metric(name=name)(rate)),
        cast(Callable[..., Metric], metric(name=f"{name}_ci_low")(ci_low)),
        cast(Callable[..., Metric], metric(name=f"{name}_ci_high")(ci_high)),
    )


def scored_total(scores: Sequence[SampleScore]) -> tuple[float, int]:
    """(sum of 0/1 values, scored samples), unscored (NaN) left out; a value can be fractional after epoch reduction."""
    values = [score.score.as_float() for score in scores if not _is_unscored(score.score.value)]
    return sum(values), len(values)


failure_rate, failure_rate_ci_low, failure_rate_ci_high = rate_metrics("failure_rate", scored_total, "scored samples that failed")


@metric
def rater_calls_saved() -> Metric:
    """Number of scores a model-free first pass decided, each one grader call not made.

    Counts scores whose metadata names a `first_pass`; a panel's first-pass decision saves
    one call per judge, recorded as `rater_calls_saved` in its metadata.
    """

    def metric(scores: list[SampleScore]) -> Value:
        saved = 0
        for score in scores:
            metadata = score.score.metadata or {}
            if metadata.get("first_pass"):
                saved += int(metadata.get("rater_calls_saved", 1))
        return saved

    return metric


@metric
def unscored() -> Metric:
    """Number of unscored (NaN) scores among those given.

    Not part of `failure_metrics()`: inside an eval Inspect removes unscored
    samples before any metric runs, so this would always read 0 there. Inspect
    already logs the count as `EvalScore.unscored_samples` (and `inspect view`
    shows it). Use this metric when recomputing from a log's sample scores.
    """

    def metric(scores: list[SampleScore]) -> Value:
        return sum(1 for score in scores if _is_unscored(score.score.value))

    return metric


@metric
def by_group(metric: Metric, group_key: str) -> Metric:
    """`metric` per value of the sample metadata field `group_key`, via Inspect's `grouped()`.

    Unlike bare `grouped()`, a sample without the key does not abort the eval:
    it falls in the `None` group, like a sample whose value is None. When no
    sample has the key at all the breakdown is omitted (one group would only
    repeat the overall value). With no scored sample it is a single NaN,
    `<metric>{<group_key>}`.

    Each value is named `<metric>{<group_key>=<value>}`, e.g.
    `failure_rate{l1=Self-harm}` or `failure_rate{depth=2}`: unique across
    metrics and keys, so the log's `metrics` dict needs no numeric suffixes;
    never ending in a digit, which `inspect view` strips from grouped metric
    names; and not in square brackets, which Inspect's terminal summary reads
    as rich markup and drops (every group printed as a bare `failure_rate`). The parameter names `metric` and `group_key` are the ones
    `inspect view` looks for to display this as a grouped metric.
    """
    metric_name = registry_info(metric).name.split("/")[-1]
    name_template = _escape_braces(f"{metric_name}{{{group_key}=") + "{group_name}" + _escape_braces("}")
    per_group = cast(MetricProtocol, grouped(metric, group_key, all=False, name_template=name_template))

    def by_group_metric(scores: list[SampleScore]) -> Value:
        # as Inspect does before calling metrics, so a group with only unscored
        # samples is absent rather than NaN when called directly on a log's scores
        scores = [score for score in scores if not _is_unscored(score.score.value)]
        if not scores:
            # Nothing scored: Inspect would log an empty mapping as a bare NaN named
            # "by_group", "by_group2", ...; name the NaN after what it stands for.
            return {f"{metric_name}{{{group_key}}}": math.nan}
        if not any(_has_key(score, group_key) for score in scores):
            return {}
        filled = [
            score
            if _has_key(score, group_key)
            else score.model_copy(update={"sample_metadata": {**(score.sample_metadata or {}), group_key: None}})
            for score in scores
        ]
        values = per_group(filled)
        assert isinstance(values, Mapping)
        # grouped() lists groups in order of first appearance; sorted reads better in a log
        return cast(Value, dict(sorted(values.items())))

    return by_group_metric


def failure_metrics(group_keys: Sequence[str] = DEFAULT_GROUP_KEYS, confidence: float = 0.95) -> list[Metric]:
    """The metrics for a failure-rate scorer: overall, then per value of each group key.

    Args:
      group_keys: Sample metadata fields to break the failure rate down by.
      confidence: Confidence level of the Wilson intervals.

    Returns:
      `failure_rate`, `failure_rate_ci_low`, `failure_rate_ci_high`, then the
      three of them `by_group()` for each key.
    """
    overall = [failure_rate(), failure_rate_ci_low(confidence), failure_rate_ci_high(confidence)]
    return overall + [
        by_group(m, key)
        for key in group_keys
        for m in (failure_rate(), failure_rate_ci_low(confidence), failure_rate_ci_high(confidence))
    ]


def _is_unscored(value: Value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _has_key(score: SampleScore, key: str) -> bool:
    return score.sample_metadata is not None and key in score.sample_metadata


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")
