"""Grading rubrics: the grader prompt, the labels it may answer with, and which labels are failures.

Rubrics are data (`scorers/rubrics/<name>.yaml`) rather than code so that a
user can read exactly what the grader was asked, and bring their own rubric
without writing Python.
"""

from __future__ import annotations

import string
import unicodedata
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from nodesynth_common.errors import NodeSynthError
from nodesynth_common.validation import validation_problem

FIRST_PASSES = ("refusal",)
"""Model-free first passes a rubric can map to one of its labels (see scorers/refusal.py)."""

REQUIRED_PLACEHOLDERS = ("question", "answer", "labels")
OPTIONAL_PLACEHOLDERS = ("criteria",)

# Dashes a grader (or a rubric author's editor) may substitute for the ASCII hyphen
# inside a label such as "Disclosure - with instructions".
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")


class RubricError(NodeSynthError, ValueError):
    """A rubric that cannot be used; the message is one sentence naming the file and field."""

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.field = field


def normalize_label(text: str) -> str:
    """The form in which labels are compared: case-folded, one space between words, ASCII hyphens."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return " ".join(text.split()).casefold()


class Rubric(BaseModel):
    """A grading rubric for `rubric_rater()`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    """Rubric name (the file stem for shipped rubrics)."""

    description: str = Field(min_length=1)
    """What the rubric measures, in a sentence or two."""

    labels: list[str] = Field(min_length=2)
    """The labels the grader may answer with, in display order."""

    failure_labels: list[str] = Field(min_length=1)
    """The labels that count as a failure (a subset of `labels`)."""

    criteria: str | None = None
    """What each label means; shown to the grader through `{criteria}`."""

    first_pass: dict[str, str] = Field(default_factory=dict)
    """The label a model-free first pass implies when it is certain, e.g. `{refusal: Full refusal}`:
    a plain refusal is "Full refusal" under harmful compliance. A rubric without an entry for
    a first pass cannot use it (a refusal says nothing about medical disclosure, say)."""

    # declared last so its validator can see `criteria`
    template: str = Field(min_length=1)
    """Grader prompt with `{question}`, `{answer}`, `{labels}` and optionally `{criteria}`."""

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        seen: set[str] = set()
        for label in value:
            if not label.strip() or "\n" in label:
                raise ValueError(f"label {label!r} must be a non-empty single line")
            # the grade parser compares normalized forms, so two labels that normalize
            # alike could never be told apart
            key = normalize_label(label)
            if key in seen:
                raise ValueError(f"label {label!r} is duplicated (labels are compared ignoring case and spacing)")
            seen.add(key)
        return value

    @field_validator("failure_labels")
    @classmethod
    def _failure_labels(cls, value: list[str], info: ValidationInfo) -> list[str]:
        labels = info.data.get("labels")
        if labels is None:  # labels already failed validation; that error is the one to report
            return value
        for label in value:
            if label not in labels:
                raise ValueError(f"{label!r} is not one of the labels {labels}")
        return value

    @field_validator("first_pass")
    @classmethod
    def _first_pass(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        labels = info.data.get("labels")
        for name, label in value.items():
            if name not in FIRST_PASSES:
                raise ValueError(f"unknown first pass {name!r} (known: {', '.join(FIRST_PASSES)})")
            if labels is not None and label not in labels:
                raise ValueError(f"{label!r} is not one of the labels {labels}")
        return value

    @field_validator("template")
    @classmethod
    def _template(cls, value: str, info: ValidationInfo) -> str:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
        except ValueError as error:
            raise ValueError(f"not a valid template ({error}; write literal braces as {{{{ and }}}})") from None
        allowed = REQUIRED_PLACEHOLDERS + OPTIONAL_PLACEHOLDERS
        for field in fields:
            if field not in allowed:
                raise ValueError(
                    f"unknown placeholder {{{field}}} (allowed: {', '.join('{' + f + '}' for f in allowed)})"
                )
        for field in REQUIRED_PLACEHOLDERS:
            if field not in fields:
                raise ValueError(f"the placeholder {{{field}}} is missing")
        if "criteria" in fields and not info.data.get("criteria"):
            raise ValueError("the template uses {criteria} but the rubric has no criteria")
        return value

    def render(self, question: str, answer: str) -> str:
        """The grader prompt for one question and answer."""
        return self.template.format(
            question=question,
            answer=answer,
            labels="\n".join(f"- {label}" for label in self.labels),
            criteria=(self.criteria or "").strip(),
        )

    def is_failure(self, label: str) -> bool:
        """Whether `label` (one of `labels`) counts as a failure."""
        return label in self.failure_labels


def list_rubrics() -> list[str]:
    """Names of the rubrics shipped with NodeSynth for Inspect."""
    return sorted(
        Path(entry.name).stem
        for entry in resources.files("scorers").joinpath("rubrics").iterdir()
        if entry.name.endswith(".yaml")
    )


def load_rubric(name_or_path: str | Path) -> Rubric:
    """Load a shipped rubric by name (e.g. "medical_disclosure") or a rubric YAML file by path.

    Raises:
      RubricError: If the rubric is unknown, unreadable or invalid; the message
        names the file and the offending field.
    """
    text, path = _read_rubric(name_or_path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise RubricError(f"{path}: not valid YAML{where}.", path=path) from None
    if not isinstance(data, dict):
        raise RubricError(
            f"{path}: a rubric must be a YAML mapping of fields (name, description, labels, failure_labels, template).",
            path=path,
        )
    try:
        return Rubric.model_validate(data)
    except ValidationError as error:
        field, message = validation_problem(error)
        field = field or "(top level)"
        raise RubricError(f"{path}: field '{field}': {message}.", path=path, field=field) from None


def _read_rubric(name_or_path: str | Path) -> tuple[str, str]:
    """The rubric's text and a display path for messages."""
    candidate = Path(name_or_path)
    is_path = isinstance(name_or_path, Path) or candidate.suffix in (".yaml", ".yml") or len(candidate.parts) > 1
    if not is_path:
        shipped = resources.files("scorers").joinpath("rubrics", f"{name_or_path}.yaml")
        if not shipped.is_file():
            raise RubricError(
                f"{name_or_path!r} is not a shipped rubric ({', '.join(list_rubrics())}) "
                "nor a path to a rubric .yaml file.",
                path=str(name_or_path),
            )
        return shipped.read_text(encoding="utf-8"), str(shipped)
    try:
        return candidate.read_text(encoding="utf-8"), str(candidate)
    except FileNotFoundError:
        raise RubricError(f"{candidate}: no such rubric file.", path=str(candidate)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise RubricError(f"{candidate}: cannot read the rubric ({error}).", path=str(candidate)) from None
