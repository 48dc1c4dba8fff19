"""The human review queue: pick the samples most worth a human look, and take the answers back.

`select_for_review` reads an Inspect log and returns the samples worth a look, each with its
reasons, most urgent first:

1. unscored — the grader's (or every judge's) reply named no label;
2. panel disagreement — the judges of a panel gave different labels (`needs_review`);
3. near the boundary — a score strictly between 0 and 1 (a split panel's 0.5, an average over
   epochs that did not agree);
4. guard disagrees — the guard and the rubric disagree on the sample;
5. small slice — the sample is in a slice (a value of l1, user_group, country, ...) with fewer
   scored samples than `min_slice`, where a single label moves the slice's rate a lot.

`write_review_csv` writes them with empty `human_label` / `human_failure` / `reviewer` / `note`
columns; `import_review` writes the filled rows back into the log as score edits through
Inspect's score-editing API (`inspect_ai.log.edit_score` with a `ScoreEdit` carrying
`ProvenanceData`: who, when, why, from which file), keeping the original score in the
score's history, then recomputes the log's metrics. `nodesynth calibrate LOG` then compares
the original scores with the human ones.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from nodesynth_common.errors import NodeSynthError
from scorers.metrics import DEFAULT_GROUP_KEYS

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog, EvalSample
    from inspect_ai.scorer import Score

JUDGE_SCORES: tuple[str, ...] = ("judge_panel", "rubric_rater")
"""Scores a review is about, in order of preference, when the caller names none."""

GUARD_SCORE = "guard"

MIN_SLICE = 5
"""Slices with fewer scored samples than this put their samples in the queue."""

REVIEW_COLUMNS = [
    "sample_id", "epoch", "score", "reason", "value", "label", "input", "output", "explanation",
    "human_label", "human_failure", "reviewer", "note",
]
"""The CSV's columns; a reviewer fills the last four (human_label or human_failure at least)."""

_TRUE = {"1", "1.0", "true", "yes", "y", "failure", "fail", "refusal", "unsafe"}
_FALSE = {"0", "0.0", "false", "no", "n", "pass", "ok", "compliance", "safe"}


class TriageSheetError(NodeSynthError, ValueError):
    """A problem with the log or the CSV the user can fix; one sentence."""


class ReviewItem(BaseModel):
    """A sample in the review queue."""

    sample_id: str
    epoch: int
    score: str
    reasons: list[str]
    priority: int
    value: float | None
    label: str | None
    input: str
    output: str
    explanation: str


def judge_score_name(log: EvalLog, score: str | None = None) -> str:
    """The score the review is about: `score`, else the panel's or the rubric rater's, else the first."""
    names: list[str] = []
    for sample in log.samples or []:
        for name in sample.scores or {}:
            if name not in names:
                names.append(name)
    if score is not None:
        if score not in names:
            raise TriageSheetError(f"the log has no score {score!r} (scores: {', '.join(names) or 'none'}).")
        return score
    for name in JUDGE_SCORES:
        if name in names:
            return name
    if not names:
        raise TriageSheetError("the log has no scored samples.")
    return names[0]


def _value(score: Score) -> float | None:
    value = score.value
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return None if math.isnan(float(value)) else float(value)
    return None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "\n".join(getattr(message, "text", "") for message in value)


def select_for_review(
    log: EvalLog, score: str | None = None, min_slice: int = MIN_SLICE,
    group_keys: Sequence[str] = DEFAULT_GROUP_KEYS,
) -> list[ReviewItem]:
    """The samples of `log` worth a human look, most urgent first (see the module docstring)."""
    name = judge_score_name(log, score)
    samples = [sample for sample in log.samples or [] if sample.scores and name in sample.scores]
    # slice sizes over scored samples
    sizes: Counter[tuple[str, str]] = Counter()
    for sample in samples:
        if _value(sample.scores[name]) is None:  # type: ignore[index]
            continue
        for key in group_keys:
            if key in (sample.metadata or {}):
                sizes[(key, str(sample.metadata[key]))] += 1
    items: list[ReviewItem] = []
    for sample in samples:
        judged = sample.scores[name]  # type: ignore[index]
        value = _value(judged)
        metadata = judged.metadata or {}
        reasons: list[tuple[int, str]] = []
        if value is None:
            why = judged.reason or "unscored"
            first = (judged.explanation or "").strip().splitlines()
            reasons.append((1, f"unscored ({why}{': ' + first[0][:120] if first else ''})"))
        if metadata.get("needs_review"):
            reasons.append((2, f"panel: {metadata.get('review_reason') or 'judges disagree'}"))
        if value is not None and 0.0 < value < 1.0:
            reasons.append((3, f"near the boundary (score {value:g})"))
        guard = (sample.scores or {}).get(GUARD_SCORE)
        if guard is not None and value is not None and value in (0.0, 1.0):
            flagged = (guard.metadata or {}).get("flagged")
            if isinstance(flagged, bool) and flagged != (value == 1.0):
                reasons.append((4, "guard missed a rubric failure" if value == 1.0 else "guard flagged a rubric pass"))
        if value is not None:
            small = [
                f"{key}={sample.metadata[key]} (n={sizes[(key, str(sample.metadata[key]))]})"
                for key in group_keys
                if key in (sample.metadata or {}) and sizes[(key, str(sample.metadata[key]))] < min_slice
            ]
            if small:
                reasons.append((5, "small slice: " + ", ".join(small)))
        if not reasons:
            continue
        items.append(ReviewItem(
            sample_id=str(sample.id), epoch=sample.epoch, score=name, reasons=[text for _, text in reasons],
            priority=min(priority for priority, _ in reasons), value=value, label=judged.answer,
            input=_text(sample.input), output=sample.output.completion, explanation=judged.explanation or "",
        ))
    return sorted(items, key=lambda item: (item.priority, -len(item.reasons), item.sample_id, item.epoch))


def write_review_csv(items: Sequence[ReviewItem], path: Path) -> None:
    """Write the queue as CSV, with empty columns for the reviewer to fill."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=REVIEW_COLUMNS)
        writer.writeheader()
        for item in items:
            writer.writerow({
                "sample_id": item.sample_id, "epoch": item.epoch, "score": item.score, "reason": "; ".join(item.reasons),
                "value": "" if item.value is None else f"{item.value:g}", "label": item.label or "",
                "input": item.input, "output": item.output, "explanation": item.explanation,
                "human_label": "", "human_failure": "", "reviewer": "", "note": "",
            })
    temporary.replace(path)  # atomic: a reviewer never opens half a file


class ImportSummary(BaseModel):
    """What `import_review` did."""

    edited: int
    skipped: int
    """Rows with neither human_label nor human_failure filled."""

    location: str


def import_review(log: EvalLog, csv_path: Path, author: str | None = None) -> ImportSummary:
    """Write a filled review CSV into `log` as score edits with provenance (in memory; see below).

    Each filled row becomes an `edit_score` on its sample and score: the value from
    `human_failure` (1/0, yes/no, failure/pass) or from `human_label` (a label of the
    score's rubric, mapped through its failure labels; or refusal/compliance), the answer
    the human label, the metadata the scorer's plus `human_label`, `human_failure`,
    `reviewer` and `triage_reason`, and `ProvenanceData` naming the reviewer (the row's
    `reviewer`, else `author`), the note, and the CSV file. The log's metrics are then
    recomputed. The caller writes the log (`write_eval_log`).

    Raises:
      TriageSheetError: For a CSV without the review columns, an unknown sample or score, or a
        label that is not one of the rubric's; nothing is edited then.
    """
    from inspect_ai.log import ProvenanceData, edit_score, recompute_metrics
    from inspect_ai.scorer import ScoreEdit

    rows = _read_rows(csv_path)
    by_key = {(str(sample.id), sample.epoch): sample for sample in log.samples or []}
    edits: list[tuple[EvalSample, str, ScoreEdit]] = []
    skipped = 0
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        label, failure_text = row.get("human_label", "").strip(), row.get("human_failure", "").strip()
        if not label and not failure_text:
            skipped += 1
            continue
        where = f"{csv_path}, row {number}"
        try:
            epoch = int(row.get("epoch") or 1)
        except ValueError:
            raise TriageSheetError(f"{where}: epoch {row.get('epoch')!r} is not a number.") from None
        sample = by_key.get((row["sample_id"], epoch))
        if sample is None:
            raise TriageSheetError(f"{where}: the log has no sample {row['sample_id']!r} (epoch {epoch}).")
        name = row["score"]
        current = (sample.scores or {}).get(name)
        if current is None:
            raise TriageSheetError(f"{where}: sample {row['sample_id']!r} has no score {name!r}.")
        failure = _failure(where, label, failure_text, current)
        reviewer = row.get("reviewer", "").strip() or author or _user()
        note = row.get("note", "").strip()
        reason = row.get("reason", "").strip()
        metadata = {
            **(current.metadata or {}),
            "human_label": label or None, "human_failure": failure, "reviewer": reviewer, "triage_reason": reason or None,
        }
        edit = ScoreEdit(
            value=1.0 if failure else 0.0,
            answer=label or ("failure" if failure else "not a failure"),
            explanation=f"Human review by {reviewer}" + (f": {note}" if note else "."),
            metadata=metadata,
            provenance=ProvenanceData(
                author=reviewer,
                reason=note or f"human review (nodesynth triage): {reason or 'reviewed'}",
                metadata={"source": str(csv_path), "tool": "nodesynth triage --import", "triage_reason": reason},
            ),
        )
        edits.append((sample, name, edit))
    for sample, name, edit in edits:
        edit_score(log, sample.id, name, edit, recompute_metrics=False, epoch=sample.epoch)
    if edits:
        _register_metrics()
        recompute_metrics(log)
    return ImportSummary(edited=len(edits), skipped=skipped, location=log.location)


def _read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise TriageSheetError(f"{path}: no such file.")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("sample_id", "score", "human_label", "human_failure") if c not in (reader.fieldnames or [])]
            if missing:
                raise TriageSheetError(f"{path}: not a review CSV (missing column {missing[0]!r}; export one with nodesynth triage LOG -o FILE).")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TriageSheetError(f"{path}: cannot read it as CSV ({error}).") from None


def _failure(where: str, label: str, failure_text: str, current: Score) -> bool:
    """Whether the human verdict is a failure."""
    if failure_text:
        key = failure_text.casefold()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise TriageSheetError(f"{where}: human_failure {failure_text!r} is not yes/no (1/0, failure/pass).")
    from scorers.rubric import RubricError, load_rubric, normalize_label

    rubric_name = (current.metadata or {}).get("rubric")
    if rubric_name:
        try:
            rubric = load_rubric(rubric_name)
        except RubricError:
            rubric = None
        if rubric is not None:
            by_key = {normalize_label(name): name for name in rubric.labels}
            match = by_key.get(normalize_label(label))
            if match is None:
                raise TriageSheetError(f"{where}: {label!r} is not a label of rubric {rubric.name!r} ({', '.join(rubric.labels)}).")
            return rubric.is_failure(match)
    key = label.casefold()
    if key in _TRUE or key in _FALSE:
        return key in _TRUE
    raise TriageSheetError(f"{where}: cannot tell whether {label!r} is a failure; fill human_failure (yes/no).")


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "reviewer"


def _register_metrics() -> None:
    """Import every module that defines a metric, so recomputing finds them in Inspect's registry."""
    import scorers.guard
    import scorers.metrics
    import scorers.panel
    import scorers.refusal
    import scorers.rubric_rater  # noqa: F401
