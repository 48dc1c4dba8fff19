"""Calibration: how well does a scorer agree with human labels?

Given items with human labels (an XSTest completions file, any CSV, a filled triage CSV, or
an Inspect log whose scores humans edited through `nodesynth triage --import`), run a scorer
on them, or read its original scores, and compare the two as a binary decision (the
scorer's *positive* — a refusal for the refusal scorer, a failure label for a rubric —
against the human labels that count as positive):

- accuracy with its 95% Wilson interval;
- Cohen's kappa with a normal-approximation interval (the Fleiss-Cohen-Everitt standard
  error, statsmodels' `cohens_kappa`; see `scorers.stats.cohen_kappa`);
- the confusion matrix, precision and recall;
- the same per slice (e.g. XSTest's prompt type);
- for XSTest, the authors' own string-match and GPT-4 labels scored the same way, beside ours.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from nodesynth_common.errors import NodeSynthError
from scorers.stats import Kappa, cohen_kappa, wilson_interval

if TYPE_CHECKING:
    import pandas as pd
    from inspect_ai.model import Model

    from scorers.rubric import Rubric


class CalibrationError(NodeSynthError, ValueError):
    """A problem with the input the user can fix; the message is one sentence."""


XSTEST_LABELS = {"1_full_compliance": "Full compliance", "2_full_refusal": "Full refusal", "3_partial_refusal": "Partial refusal"}
"""XSTest's final_label values and the over_refusal rubric's names for them."""

XSTEST_POSITIVE = ("2_full_refusal", "3_partial_refusal")
"""Any refusal, full or partial: the positive class of XSTest's binary comparison."""

_TRUE = {"1", "1.0", "true", "yes", "y", "t", "failure", "fail", "refusal", "refused", "unsafe", "flagged"}
_FALSE = {"0", "0.0", "false", "no", "n", "f", "pass", "ok", "compliance", "complied", "safe", "not flagged"}


class Columns(BaseModel):
    """Which CSV columns hold what."""

    text: str = "completion"
    label: str = "final_label"
    prompt: str | None = "prompt"
    slice: str | None = None
    id: str | None = None
    failure: str | None = None
    """A yes/no human verdict, read where the label column is blank (a triage CSV's human_failure)."""


XSTEST_COLUMNS = Columns(text="completion", label="final_label", prompt="prompt", slice="type", id="id")
TRIAGE_COLUMNS = Columns(text="output", label="human_label", prompt="input", slice="reason", id="sample_id", failure="human_failure")


def parse_columns(spec: str) -> Columns:
    """`text=completion,label=final_label,prompt=prompt,slice=type` into `Columns`."""
    values: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise CalibrationError(f"--columns {part!r}: expected key=column (keys: {', '.join(Columns.model_fields)}).")
        if key not in Columns.model_fields:
            raise CalibrationError(f"--columns: unknown key {key!r} (keys: {', '.join(Columns.model_fields)}).")
        values[key] = value
    base = Columns(prompt=None).model_dump()
    return Columns.model_validate({**base, **values})


class Agreement(BaseModel):
    """A scorer's binary agreement with human labels."""

    model_config = ConfigDict(frozen=True)

    n: int
    accuracy: float
    accuracy_ci_low: float
    accuracy_ci_high: float
    kappa: float
    kappa_ci_low: float
    kappa_ci_high: float
    precision: float
    recall: float
    confusion: dict[str, int]
    """tp, fp, fn, tn: the scorer's positive (refusal / failure) against the humans'."""


def agreement(human: Sequence[bool], predicted: Sequence[bool], confidence: float = 0.95) -> Agreement:
    """Accuracy (Wilson interval), Cohen's kappa (interval), confusion, precision and recall."""
    if len(human) != len(predicted):
        raise ValueError("human and predicted labels differ in length")
    pairs = list(zip(human, predicted, strict=True))
    tp = sum(1 for h, p in pairs if h and p)
    tn = sum(1 for h, p in pairs if not h and not p)
    fp = sum(1 for h, p in pairs if not h and p)
    fn = sum(1 for h, p in pairs if h and not p)
    n = len(pairs)
    low, high = wilson_interval(tp + tn, n, confidence)
    kappa: Kappa = cohen_kappa([bool(h) for h in human], [bool(p) for p in predicted], labels=[False, True], confidence=confidence)
    return Agreement(
        n=n,
        accuracy=(tp + tn) / n if n else math.nan,
        accuracy_ci_low=low,
        accuracy_ci_high=high,
        kappa=kappa.kappa,
        kappa_ci_low=kappa.ci_low,
        kappa_ci_high=kappa.ci_high,
        precision=tp / (tp + fp) if tp + fp else math.nan,
        recall=tp / (tp + fn) if tp + fn else math.nan,
        confusion={"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    )


class LabelAgreement(BaseModel):
    """Agreement on the full label set (e.g. XSTest's three classes), when both sides use it."""

    n: int
    accuracy: float
    kappa: float
    labels: list[str]
    confusion: list[list[int]]
    """Rows: human label; columns: scorer label; both in `labels` order."""


class Baseline(BaseModel):
    """Another labeller scored the same way (e.g. XSTest's string match)."""

    name: str
    agreement: Agreement
    invalid: int
    """Rows whose label was none of the known classes (left out of `agreement`)."""


class CalibrationReport(BaseModel):
    """Everything `nodesynth calibrate` prints."""

    file: str
    scorer: str
    n: int
    """Items compared (human label and scorer verdict both present)."""

    unscored: int
    """Items the scorer could not label (left out)."""

    overall: Agreement
    labels: LabelAgreement | None = None
    slices: dict[str, Agreement] = {}
    baselines: list[Baseline] = []
    rater_calls: int = 0
    rater_calls_saved: int = 0
    grader: str | None = None
    """The grading model, for a rubric scorer (what the report matches a record by)."""
    constrained: bool | None = None
    prior_correction: bool | None = None

    def summary(self) -> dict[str, Any]:
        """One flat JSON object: n, accuracy, kappa first, then the rest."""
        overall = self.overall.model_dump()
        return {
            "file": self.file, "scorer": self.scorer, "grader": self.grader, "constrained": self.constrained,
            "prior_correction": self.prior_correction, "n": self.n, "unscored": self.unscored,
            **overall,
            "labels": self.labels.model_dump() if self.labels else None,
            "slices": {key: value.model_dump() for key, value in self.slices.items()},
            "baselines": {b.name: {**b.agreement.model_dump(), "invalid": b.invalid} for b in self.baselines},
            "rater_calls": self.rater_calls, "rater_calls_saved": self.rater_calls_saved,
        }


# --- reading labelled items -----------------------------------------------------------------


class Item(BaseModel):
    """One labelled response."""

    id: str
    prompt: str
    text: str
    human_label: str
    slice: str | None = None
    human_positive: bool | None = None
    """The human verdict as a failure decision, when the source records it (an edited log score)."""

    scorer_value: float | None = None
    """The scorer's original value, when the items come from a log (NaN-free; None: unscored)."""


def read_csv_items(path: Path, columns: Columns) -> list[Item]:
    """Items from a CSV; rows without a human label are skipped (an unfilled triage row)."""
    import pandas as pd

    if not path.is_file():
        raise CalibrationError(f"{path}: no such file.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise CalibrationError(f"{path}: cannot read it as CSV ({str(error).splitlines()[0]}).") from None
    for role, column in columns.model_dump().items():
        if column is not None and column not in frame.columns:
            raise CalibrationError(f"{path}: no column {column!r} for {role} (columns: {', '.join(frame.columns)}).")
    items = []
    for index, row in frame.iterrows():
        label = str(row[columns.label]).strip()
        if not label and columns.failure:
            label = str(row[columns.failure]).strip()
        if not label:
            continue
        items.append(Item(
            id=str(row[columns.id]) if columns.id else str(index),
            prompt=str(row[columns.prompt]) if columns.prompt else "",
            text=str(row[columns.text]),
            human_label=label,
            slice=str(row[columns.slice]) if columns.slice else None,
        ))
    if not items:
        raise CalibrationError(f"{path}: no row has a human label in column {columns.label!r}.")
    return items


def read_log_items(path: Path, score_name: str | None) -> tuple[list[Item], str]:
    """Items from an Inspect log whose scores a human edited (e.g. `nodesynth triage --import`).

    The human label is the edited score's answer (its value when it has no answer); the
    scorer's verdict is the score as the scorer wrote it (the first entry of its history).

    Returns:
      The items and the name of the score they came from.
    """
    from inspect_ai.log import read_eval_log

    if not path.is_file():
        raise CalibrationError(f"{path}: no such file.")
    try:
        log = read_eval_log(str(path))
    except Exception as error:  # noqa: BLE001 - Inspect raises several kinds for an unreadable log
        raise CalibrationError(f"{path}: cannot read it as an Inspect log ({str(error).splitlines()[0]}).") from None
    items: list[Item] = []
    names: set[str] = set()
    for sample in log.samples or []:
        for name, score in (sample.scores or {}).items():
            if score_name is not None and name != score_name:
                continue
            human_edits = [edit for edit in score.history if edit.provenance is not None]
            if not human_edits:
                continue
            names.add(name)
            original = score.history[0]
            value = original.value
            scorer_value = float(value) if isinstance(value, int | float) and not math.isnan(float(value)) else None
            human = score.answer if score.answer else str(score.value)
            metadata = sample.metadata or {}
            edited = score.value
            items.append(Item(
                id=f"{sample.id}:{sample.epoch}", prompt=_input_text(sample.input), text=sample.output.completion,
                human_label=str(human), slice=(score.metadata or {}).get("triage_reason") or metadata.get("l1"),
                human_positive=bool(edited >= 1.0) if isinstance(edited, int | float) and not math.isnan(float(edited)) else None,
                scorer_value=scorer_value,
            ))
    if not items:
        which = f"score {score_name!r}" if score_name else "any score"
        raise CalibrationError(f"{path}: no human-edited {which} (import a filled triage CSV first).")
    if len(names) > 1:
        raise CalibrationError(f"{path}: humans edited several scores ({', '.join(sorted(names))}); pick one with --scorer.")
    return items, names.pop()


def _input_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "\n".join(getattr(message, "text", "") for message in value)


# --- human labels to the binary decision ----------------------------------------------------


def human_positive(labels: Sequence[str], positive: Sequence[str] | None, rubric: Rubric | None) -> list[bool]:
    """Which human labels are positive (a refusal / a failure).

    With `positive`, exactly those labels. Otherwise each label on its own: a boolean-like
    label (1/0, yes/no, failure/pass, refusal/compliance), else a rubric label (positive when
    it is one of the rubric's failure labels).
    """
    from scorers.rubric import normalize_label

    if positive:
        wanted = {normalize_label(label) for label in positive}
        return [normalize_label(label) in wanted for label in labels]
    by_key = {normalize_label(label): label for label in rubric.labels} if rubric is not None else {}
    result: list[bool] = []
    unknown: list[str] = []
    for label in labels:
        key = normalize_label(label)
        if key in _TRUE or key in _FALSE:
            result.append(key in _TRUE)
        elif rubric is not None and key in by_key:
            result.append(rubric.is_failure(by_key[key]))
        else:
            unknown.append(label)
    if unknown:
        shown = ", ".join(map(repr, sorted(set(unknown))[:5]))
        raise CalibrationError(f"cannot tell which human labels are positive ({shown} ...): pass --positive LABEL,LABEL.")
    return result


# --- running the scorers --------------------------------------------------------------------


class Verdicts(BaseModel):
    """A scorer's verdicts on the items, in order (None: unscored)."""

    positive: list[bool | None]
    labels: list[str | None]
    rater_calls: int = 0
    rater_calls_saved: int = 0


def refusal_verdicts(items: Sequence[Item]) -> Verdicts:
    """The refusal first pass, no model."""
    from scorers.refusal import detect_refusal

    verdicts = [detect_refusal(item.text) if item.text.strip() else None for item in items]
    return Verdicts(
        positive=[v.refusal if v else None for v in verdicts],
        labels=[("refusal" if v.refusal else "compliance") if v else None for v in verdicts],
    )


async def rubric_verdicts(
    items: Sequence[Item], rubric: Rubric, grader: Model, first_pass: str | None, constrained: bool | None = None,
    prior_correction: bool = True,
) -> Verdicts:
    """Run `rubric_rater` itself (so calibration measures the scorer the evals use) on each item.

    `constrained` and `prior_correction` are the rater's own switches (see `rubric_rater`).
    """
    from inspect_ai.model import ChatMessageUser, ModelName, ModelOutput
    from inspect_ai.scorer import Target
    from inspect_ai.solver import TaskState

    from scorers.rubric_rater import rubric_rater

    score_fn = rubric_rater(rubric, grader=grader, first_pass=first_pass, constrained=constrained, prior_correction=prior_correction)

    async def one(index: int, item: Item) -> tuple[bool | None, str | None, bool]:
        state = TaskState(
            model=ModelName("calibrate/replay"), sample_id=item.id, epoch=1, input=item.prompt,
            messages=[ChatMessageUser(content=item.prompt)],
            output=ModelOutput.from_content(model="calibrate/replay", content=item.text),
        )
        score = await score_fn(state, Target(""))
        assert score is not None
        metadata = score.metadata or {}
        if isinstance(score.value, float) and math.isnan(score.value):
            return None, None, bool(metadata.get("first_pass"))
        return score.value == 1.0, score.answer, bool(metadata.get("first_pass"))

    results = await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    saved = sum(1 for _, _, decided in results if decided)
    return Verdicts(
        positive=[positive for positive, _, _ in results],
        labels=[label for _, label, _ in results],
        rater_calls=len(items) - saved,
        rater_calls_saved=saved,
    )


def log_verdicts(items: Sequence[Item]) -> Verdicts:
    """The scorer's original values from a log (1.0 failure; a split panel's 0.5 counts as not)."""
    return Verdicts(
        positive=[None if item.scorer_value is None else item.scorer_value >= 1.0 for item in items],
        labels=[None] * len(items),
    )


# --- putting it together --------------------------------------------------------------------


def compare(
    file: str, scorer: str, items: Sequence[Item], human: Sequence[bool], verdicts: Verdicts,
    label_map: dict[str, str] | None = None,
) -> CalibrationReport:
    """The report for a scorer's verdicts against human labels.

    Args:
      label_map: Human label → scorer label, to also compare on the full label set (e.g.
        XSTest's classes to the over_refusal rubric's names); None to skip that.
    """
    keep = [i for i, positive in enumerate(verdicts.positive) if positive is not None]
    overall = agreement([human[i] for i in keep], [bool(verdicts.positive[i]) for i in keep])
    slices: dict[str, Agreement] = {}
    for key in sorted({str(items[i].slice) for i in keep if items[i].slice is not None}):
        chosen = [i for i in keep if items[i].slice == key]
        slices[key] = agreement([human[i] for i in chosen], [bool(verdicts.positive[i]) for i in chosen])
    labels = None
    if label_map is not None:
        mapped = [(label_map.get(items[i].human_label), verdicts.labels[i]) for i in keep]
        pairs = [(h, p) for h, p in mapped if h is not None and p is not None]
        names = sorted({name for pair in pairs for name in pair})
        if pairs and set(names) <= set(label_map.values()):
            kappa = cohen_kappa([h for h, _ in pairs], [p for _, p in pairs], labels=names)
            index = {name: i for i, name in enumerate(names)}
            matrix = [[0] * len(names) for _ in names]
            for h, p in pairs:
                matrix[index[h]][index[p]] += 1
            labels = LabelAgreement(
                n=len(pairs), accuracy=sum(1 for h, p in pairs if h == p) / len(pairs), kappa=kappa.kappa,
                labels=names, confusion=matrix,
            )
    return CalibrationReport(
        file=file, scorer=scorer, n=len(keep), unscored=len(items) - len(keep), overall=overall, labels=labels,
        slices=slices, rater_calls=verdicts.rater_calls, rater_calls_saved=verdicts.rater_calls_saved,
    )


def xstest_baselines(completions: Path, items: Sequence[Item]) -> list[Baseline]:
    """The XSTest authors' string-match and GPT-4 labels, scored like ours, when their files exist.

    Looked up beside the completions file: ../automated_labels/<stem>_streval.csv
    (strmatch_label) and <stem>_gpteval.csv (gpt4_label), joined on `id`. A label that is
    none of the three classes (the GPT-4 file has a few replies that are not labels) is
    left out and counted as invalid.
    """
    import pandas as pd

    folder = completions.resolve().parent.parent / "automated_labels"
    by_id = {item.id: item for item in items}
    baselines = []
    for name, suffix, column in (("xstest_string_match", "streval", "strmatch_label"), ("xstest_gpt4", "gpteval", "gpt4_label")):
        path = folder / f"{completions.stem}_{suffix}.csv"
        if not path.is_file():
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "id" not in frame.columns or column not in frame.columns:
            continue
        human, predicted, invalid = [], [], 0
        for _, row in frame.iterrows():
            item = by_id.get(str(row["id"]))
            if item is None or item.human_label not in XSTEST_LABELS:
                continue
            label = str(row[column]).strip()
            if label not in XSTEST_LABELS:
                invalid += 1
                continue
            human.append(item.human_label in XSTEST_POSITIVE)
            predicted.append(label in XSTEST_POSITIVE)
        baselines.append(Baseline(name=name, agreement=agreement(human, predicted), invalid=invalid))
    return baselines


def frame_of(report: CalibrationReport) -> pd.DataFrame:
    """The per-slice agreements as a DataFrame (for reports)."""
    import pandas as pd

    return pd.DataFrame([{"slice": key, **value.model_dump()} for key, value in report.slices.items()])
