"""The report's views: each is a function of the tidy table returning a `View` (table + figure).

A view never reads a log: give it the tidy table (from `tidy_table` or `xlsx_table`) and the
options, and it returns the numbers it shows (`View.tables`, written as CSV by `--tables`)
and the plotly figure that shows them. `build_views` runs them all in report order.

The failure rate is computed from one scorer (the "study scorer": `rubric_rater` when the
logs have it, else the scorer with most failure values, or the one named with --scorer), over
the samples it scored; unscored samples are counted and shown but never in a rate.

Modules, one report section each, with helpers flowing one way (`study` <- `charts` <- the
views <- `build`): `study` (options, `View`, the rows studied), `charts` (look, heatmaps,
ordering), `models`, `depth`, `intersections`, `dataset`, `ngrams`, `slices`, `judges`,
`benchmark`, `findings` (key findings), `build` (`build_views`).
"""

from .build import build_views
from .findings import key_findings
from .slices import slice_table
from .study import ReportOptions, Study, View, explode_list, study

__all__ = ["ReportOptions", "Study", "View", "build_views", "explode_list", "key_findings", "slice_table", "study"]
