"""How far a grader can be trusted: its agreement with human labels, as a record the report reads.

A record is what `nodesynth calibrate ... --json` prints (it names the grader, the rubric and the
labelled file). The project ships the records it measured for the embedded grader in
`nodesynth_common/calibration_records/`; `nodesynth report --calibration FILE` adds a user's own. Whenever
a report's failure rates come from a grader with a record, the record is shown beside them, and
a grader near chance is called that in words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from nodesynth_common.errors import NodeSynthError
from nodesynth_common.validation import validation_problem

SHIPPED_RECORDS = Path(__file__).parent / "calibration_records"

CHANCE_KAPPA = 0.2
"""Below this kappa (or with an interval reaching 0) a grader is 'near chance' (Landis & Koch: slight)."""

TRUSTED_KAPPA = 0.6
"""From this kappa on, agreement is substantial (Landis & Koch); between the two it is weak."""


class GraderCalibrationError(NodeSynthError):
    """A calibration record that cannot be read."""


class GraderCalibration(BaseModel):
    """One grader's agreement with human labels (a `nodesynth calibrate --json` object)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    grader: str
    scorer: str
    """The rubric (or scorer) the grader was calibrated with."""
    file: str
    """The human-labelled file it was compared with."""
    n: int
    accuracy: float | None
    accuracy_ci_low: float | None = None
    accuracy_ci_high: float | None = None
    kappa: float | None
    kappa_ci_low: float | None = None
    kappa_ci_high: float | None = None
    constrained: bool | None = None
    prior_correction: bool | None = None

    @property
    def judgement(self) -> str:
        """'near chance', 'weak' or 'substantial' agreement, from kappa and its interval."""
        if self.kappa is None or self.kappa < CHANCE_KAPPA or (self.kappa_ci_low is not None and self.kappa_ci_low <= 0):
            return "near chance"
        return "weak" if self.kappa < TRUSTED_KAPPA else "substantial"

    def sentence(self) -> str:
        """One plain sentence: the figures, and what they mean for the rates."""
        kappa = "undefined" if self.kappa is None else f"{self.kappa:.2f}"
        if self.kappa is not None and self.kappa_ci_low is not None and self.kappa_ci_high is not None:
            kappa += f" [{self.kappa_ci_low:.2f}, {self.kappa_ci_high:.2f}]"
        accuracy = "undefined" if self.accuracy is None else f"{self.accuracy:.2f}"
        text = (f"Grader {self.grader}: against human labels ({Path(self.file).name}, rubric {self.scorer}, n={self.n}) "
                f"accuracy {accuracy}, Cohen's kappa {kappa}: {self.judgement}")
        if self.judgement == "near chance":
            return text + ", so the failure rates it graded show the pipeline working, not findings."
        if self.judgement == "weak":
            return text + "; read its failure rates as rough."
        return text + "."


def read_record(path: Path) -> GraderCalibration:
    """A record from a JSON file (the output of `nodesynth calibrate --json --grader MODEL`)."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise GraderCalibrationError(f"{path}: cannot read the calibration record ({error.strerror or error}).") from None
    except ValueError as error:
        raise GraderCalibrationError(f"{path}: not JSON ({error}).") from None
    if isinstance(payload, dict) and payload.get("grader") is None:
        raise GraderCalibrationError(f"{path}: field 'grader': missing (a record from `nodesynth calibrate --json --grader MODEL`).")
    try:
        return GraderCalibration.model_validate(payload)
    except ValidationError as error:
        field, message = validation_problem(error)
        raise GraderCalibrationError(f"{path}: field '{field}': {message}.") from None


def load_records(extra: Sequence[Path] = (), shipped: bool = True) -> list[GraderCalibration]:
    """The shipped records, then the user's (a user's record for the same grader comes last and wins)."""
    paths = sorted(SHIPPED_RECORDS.glob("*.json")) if shipped else []
    return [read_record(path) for path in [*paths, *extra]]


def records_for(graders: Iterable[str], records: Sequence[GraderCalibration]) -> list[GraderCalibration]:
    """The latest record per grader in `graders`, in the graders' order."""
    latest = {record.grader: record for record in records}
    return [latest[grader] for grader in dict.fromkeys(graders) if grader in latest]
