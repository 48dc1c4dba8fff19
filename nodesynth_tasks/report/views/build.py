"""Every view, in report order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .benchmark import benchmark_ratio
from .dataset import dataset_flows, taxonomy_sunburst
from .depth import depth_ablation
from .graders import grader_calibration
from .intersections import intersections
from .judges import guard_miss_rate, judge_agreement
from .models import by_l1, by_l2, by_model
from .ngrams import failure_ngrams
from .slices import slice_gaps
from .study import ReportOptions, Study, View, study

if TYPE_CHECKING:
    import pandas as pd


RATE_SECTIONS = ("Model comparison", "Taxonomy", "Depth ablation", "Intersections", "Failure n-grams", "Slice gaps")
"""Sections whose numbers are the study scorer's failure rates (the dataset views are not)."""


def build_views(tidy: pd.DataFrame, options: ReportOptions | None = None) -> tuple[Study, list[View]]:
    """Every view, in report order."""
    from ..tidy import paused_gc

    options = options or ReportOptions()
    with paused_gc():  # the views explode and regroup the table: many objects, no cycles
        return _build_views(tidy, options)


def _build_views(tidy: pd.DataFrame, options: ReportOptions) -> tuple[Study, list[View]]:
    s = study(tidy, options)
    views: list[View] = [by_model(s, options)]
    views += by_l1(s, options)
    views += [by_l2(s, options), depth_ablation(s, options)]
    views += intersections(s, options)
    views += [dataset_flows(s, options), taxonomy_sunburst(s, options), failure_ngrams(s, options), slice_gaps(s, options)]
    graders = grader_calibration(tidy, s, options)
    caveat = graders.note if graders.tables else None  # with a record, its note is the sentence about the grader
    if caveat:  # beside every rate the grader produced
        for view in views:
            if view.section in RATE_SECTIONS:
                view.note = f"{view.note} {caveat}" if view.note else caveat
    views += [graders, judge_agreement(tidy, s, options), guard_miss_rate(tidy, s, options), benchmark_ratio(tidy, s, options)]
    return s, views
