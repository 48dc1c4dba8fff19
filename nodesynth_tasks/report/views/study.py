"""What the views study: their options, the `View` each returns, and the rows they are computed from.

The failure rate is computed from one scorer (the "study scorer": `rubric_rater` when the
logs have it, else the scorer with most failure values, or the one named with --scorer), over
the samples it scored; unscored samples are counted and shown but never in a rate.

A sample run for several epochs is one observation, as in Inspect's own metric: Inspect's
default epoch reducer (`mean`) turns the epochs' scores into one per sample before any metric
runs, so the failure-rate views read each sample's mean failure over its scored epochs
(`per_sample`) and their n and rates equal the log's `failure_rate` metric (40 samples × 3
epochs: n = 40, not 120). Views that describe the dataset read every sample, scored or not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nodesynth_common.grader_calibration import GraderCalibration

from ..tidy import ReportInputError

if TYPE_CHECKING:
    import pandas as pd


PREFERRED_SCORER = "rubric_rater"
STUDY_COLUMNS = (
    "source", "task", "model", "scorer", "sample_id", "epoch", "input", "failure", "score_metadata", "domain", "l1", "l2",
    "l3", "depth", "user_group", "country", "language", "modality", "tone", "demographics", "occupations",
)
CATEGORY_COLUMNS = (
    "source", "task", "model", "scorer", "domain", "l1", "l2", "l3", "user_group", "country", "language", "modality", "tone"
)


# model colours: colour-blind-safe (Okabe–Ito), then plotly's qualitative set
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880"]


class ReportOptions(BaseModel):
    """What the views compute; every field has a default a user rarely needs to change."""

    model_config = ConfigDict(extra="forbid")

    scorer: str | None = Field(
        None, description="the scorer whose failures are studied (default: rubric_rater, else the one with most failure values)"
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="confidence level of every interval")
    alpha: float = Field(0.05, gt=0, lt=1, description="significance level after Holm correction")
    min_slice_n: int = Field(
        20, ge=1,
        description="slices (or their rest) with fewer scored responses are marked small and not tested (scorers.stats.MIN_SLICE_N)",
    )
    min_cell_n: int = Field(5, ge=1, description="heatmap cells with fewer scored responses are left blank")
    max_rows: int = Field(40, ge=1, description="most rows a heatmap shows (the most frequent)")
    max_columns: int = Field(25, ge=1, description="most columns an intersection heatmap shows (the most frequent)")
    flow_nodes: int = Field(12, ge=2, description="most nodes per level of the Sankey (the rest become 'other')")
    ngram: int = Field(2, ge=1, le=4, description="n of the failure n-grams (2 = bi-grams)")
    ngram_min_queries: int = Field(5, ge=1, description="an n-gram must occur in at least this many scored queries of a model")
    top_ngrams: int = Field(10, ge=1, description="n-grams listed per model")
    top_gaps: int = Field(20, ge=1, description="slice gaps listed")
    calibrations: list[GraderCalibration] | None = Field(
        None, description="graders' agreement with human labels (None: the records shipped in nodesynth_common/calibration_records)"
    )


class View(BaseModel):
    """One section of the report: what it shows, how to read it, its numbers and its chart."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    key: str
    section: str
    title: str
    description: str
    figure: Any = None
    tables: dict[str, Any] = Field(default_factory=dict, description="CSV name (no extension) -> DataFrame")
    shown: str | None = Field(None, description="which of `tables` to show under the chart")
    note: str | None = Field(None, description="why the view is empty, or a caveat (plain text)")


class Study(BaseModel):
    """The rows the failure-rate views use, and how they were chosen."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    scorer: str | None
    rows: Any  # every row of the study scorer in the nodesynth suite (scored and unscored), one per epoch
    samples: Any  # `per_sample(rows)`: one row per sample, scored or not (what the dataset views describe)
    scored: Any  # the samples with a failure value; `failure` is their mean over scored epochs (0.0/1.0 with one epoch)
    responses: Any  # rows with a failure value, one per epoch; `failure` a plain bool (for per-response comparisons)
    epochs: int = 1  # the most epochs any sample was run for
    models: list[str]  # by failure rate, highest first
    colors: dict[str, str]
    note: str | None = None
    exploded: dict[str, Any] = Field(default_factory=dict, description="list column -> explode_list() of scored, computed once")

    def explode(self, column: str) -> pd.DataFrame:
        """`explode_list(scored, column, "value")`, cached: three views explode the same lists."""
        if column not in self.exploded:
            self.exploded[column] = explode_list(self.scored, column, "value")
        return self.exploded[column]


# ------------------------------------------------------------------------------------------
# choosing the rows


def study(tidy: pd.DataFrame, options: ReportOptions) -> Study:
    """The study scorer's rows; models ordered by failure rate (highest first)."""
    nodesynth = tidy[tidy["suite"] == "nodesynth"]
    with_failure = nodesynth[nodesynth["failure"].notna()]
    counts = with_failure.groupby("scorer", observed=True).size().sort_values(ascending=False)
    note = None
    if options.scorer is not None:
        chosen: str | None = options.scorer
        if chosen not in set(nodesynth["scorer"]):
            known = ", ".join(sorted(set(nodesynth["scorer"]))) or "none"
            raise ReportInputError(f"scorer '{chosen}' is not in these logs (scorers: {known}).")
    elif PREFERRED_SCORER in counts.index or (not len(counts) and PREFERRED_SCORER in set(nodesynth["scorer"])):
        # the rubric rater even when it scored nothing: the report then says how many it could not score
        chosen = PREFERRED_SCORER
    elif len(counts):
        chosen = str(counts.index[0])
    else:
        chosen = None
    if chosen is not None and len(counts) > 1:
        others = [s for s in counts.index if s != chosen]
        verb = "gives" if len(others) == 1 else "give"
        note = f"Failure rates use the scorer '{chosen}'; {', '.join(others)} also {verb} failure verdicts (choose with --scorer)."
    rows = nodesynth[nodesynth["scorer"] == chosen] if chosen else nodesynth.iloc[0:0]
    # only the columns the views read, low-cardinality text as categories: every view filters
    # and groups these rows, and each filter of a wide frame of arrow strings copies every column
    rows = rows[list(STUDY_COLUMNS)].copy()
    for column in CATEGORY_COLUMNS:
        rows[column] = rows[column].astype("category")
    responses = rows[rows["failure"].notna()].copy()
    responses["failure"] = responses["failure"].astype(bool)
    samples = per_sample(rows)
    scored = samples[samples["failure"].notna()].copy()
    overall = scored.groupby("model", observed=True)["failure"].mean().sort_values(ascending=False)
    models = [str(m) for m in overall.index]
    models += sorted({str(m) for m in rows["model"]} - set(models))
    colors = {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(models)}
    epochs = int(samples["epochs"].max()) if len(samples) else 1
    return Study(scorer=chosen, rows=rows, samples=samples, scored=scored, responses=responses, epochs=max(epochs, 1),
                 models=models, colors=colors, note=note)


SAMPLE_KEY = ["task", "model", "sample_id"]


def per_sample(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per sample (task × model × sample id), as Inspect's default epoch reducer sees it.

    `failure` becomes the mean of the sample's scored epochs (NaN when none was scored): what
    Inspect's `mean` reducer gives `failure_rate`, which then averages over samples. `epochs`
    is the number of rows (epochs) of the sample, scored or not; `epochs_scored` those scored.
    Other columns are the first epoch's (sample metadata is the same in every epoch).
    """
    failure = rows["failure"].astype("Float64")
    if not rows.duplicated(SAMPLE_KEY).any():  # one epoch: nothing to reduce
        return rows.assign(failure=failure.astype(float), epochs=1, epochs_scored=failure.notna().astype(int))
    grouped = rows.assign(_failure=failure).groupby(SAMPLE_KEY, observed=True, sort=False)["_failure"]
    reduced = rows.assign(failure=grouped.transform("mean").astype(float), epochs=grouped.transform("size").astype(int),
                          epochs_scored=grouped.transform("count").astype(int))
    return reduced.drop_duplicates(SAMPLE_KEY).reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# list columns


EXPLODE_KEEP = ("model", "failure", "l1", "l2", "user_group")


def explode_list(rows: pd.DataFrame, column: str, name: str, keep: tuple[str, ...] = EXPLODE_KEEP) -> pd.DataFrame:
    """One row per list item of `column` (as `name`, a category), with the `keep` columns;
    spellings that differ only in case or surrounding spaces are merged under the most
    frequent one.

    Only the kept columns are repeated, and the items are coded once as a category: exploding
    the whole tidy table (35 columns, 200,000 rows, 3 items each) cost seconds per call.
    """
    import pandas as pd

    lists = [v if isinstance(v, list) else [] for v in rows[column]]
    lengths = np.fromiter((len(v) for v in lists), dtype=np.int64, count=len(lists))
    take = np.repeat(np.arange(len(lists)), lengths)
    items = pd.Categorical([item for v in lists for item in v])
    exploded = rows[[c for c in keep if c in rows.columns]].iloc[take].reset_index(drop=True)
    codes = np.asarray(items.codes)  # -1: a missing item
    # the most frequent spelling names the merged group
    counts = np.bincount(codes[codes >= 0], minlength=len(items.categories))
    spelling: dict[str, str] = {}
    for i in np.argsort(-counts, kind="stable"):
        text = str(items.categories[i]).strip()
        spelling.setdefault(text.casefold(), text)
    merged = np.asarray([spelling[str(c).strip().casefold()] for c in items.categories], dtype=object)
    names, position = np.unique(merged, return_inverse=True) if len(merged) else (np.asarray([], dtype=object), np.asarray([], dtype=int))
    new_codes = np.where(codes >= 0, position[np.clip(codes, 0, None)] if len(position) else -1, -1)
    exploded[name] = pd.Categorical.from_codes(new_codes, categories=names)
    nonempty = np.asarray([len(x) > 0 for x in names], dtype=bool)
    keep_rows = (new_codes >= 0) & (nonempty[np.clip(new_codes, 0, None)] if len(nonempty) else False)
    # a query that lists one group twice (in two spellings) counts once in it
    once = ~pd.DataFrame({"row": take, "code": new_codes}).duplicated().to_numpy()
    return exploded[keep_rows & once]
