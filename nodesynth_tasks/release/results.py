"""The NodeSynth authors' published results as Inspect logs, one `.eval` per model in the workbook.

    nodesynth import results nodesynth-xlsx [FILE] --log-dir logs/published

Each log is what a `medical_depth` run of that model would have logged, written through Inspect's
public log API: the same 636 sample ids and metadata as the task, the workbook's response as the
output, and the workbook's label as the `rubric_rater` score (value 1.0 for the rubric's failure
label, its label as the answer, provenance in the explanation). So `inspect view` and
`nodesynth report` read them beside a user's own run. A blank or unknown label is unscored, never
guessed. The model names are the workbook's.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelOutput
from inspect_ai.scorer import SampleScore, Score
from inspect_ai.util import registry_info

from generators.importers.nodesynth_xlsx import Workbook, WorkbookQuery, read_workbook
from generators.records import content_id
from nodesynth_common.assets import asset_path
from scorers.metrics import failure_rate, failure_rate_ci_high, failure_rate_ci_low
from scorers.rubric import Rubric, load_rubric, normalize_label

from .authors import RESULTS_ASSET, medical_depth

DATASET = "medical_depth"
# the name a real `inspect eval nodesynth_tasks/medical_depth` logs (the entry point's package prefixes it)
TASK = registry_info(medical_depth).name
SCORER = "rubric_rater"  # the task's scorer, so the report pairs these with a user's own run
RUBRIC = "medical_disclosure"
PROVENANCE = "recorded by the NodeSynth authors' auto-rater"


def write_result_logs(log_dir: Path, workbook_path: Path | None = None) -> list[Path]:
    """Write one log per model of the workbook (default: the pinned asset) into `log_dir`; returns their paths."""
    workbook = read_workbook(workbook_path if workbook_path is not None else asset_path(RESULTS_ASSET))
    rubric = load_rubric(RUBRIC)
    log_dir = Path(log_dir).expanduser()
    log_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for model in workbook.models:
        path = log_dir / f"{DATASET}_{re.sub(r'[^a-z0-9]+', '-', model.casefold()).strip('-')}_published.eval"
        write_eval_log(model_log(workbook, model, rubric), str(path))
        written.append(path)
    return written


def recorded_score(query: WorkbookQuery, model: str, rubric: Rubric) -> Score:
    """The workbook's label for this model's response, as the rubric rater would have scored it."""
    raw = query.labels[model]
    label = {normalize_label(x): x for x in rubric.labels}.get(normalize_label(raw)) if raw else None
    metadata = {"rubric": rubric.name, "grader_model": None, "recorded_label": raw, "source": "nodesynth-xlsx"}
    if label is None:
        why = "no label recorded" if not raw else f"recorded label {raw!r} is not one of the rubric's labels"
        return Score.unscored(reason="recorded_label_unusable", explanation=f"Unscored: {why} ({PROVENANCE}).",
                              metadata={**metadata, "label": None, "failure": None})
    failure = rubric.is_failure(label)
    return Score(value=1.0 if failure else 0.0, answer=label, explanation=f"{label}: {PROVENANCE}.",
                 metadata={**metadata, "label": label, "failure": failure})


def model_log(workbook: Workbook, model: str, rubric: Rubric) -> EvalLog:
    """The `medical_depth` log of one model's recorded responses and labels."""
    now = datetime.now(timezone.utc).isoformat()
    samples: list[EvalSample] = []
    for query in workbook.queries:
        record, response = query.record, query.responses[model]
        samples.append(
            EvalSample(
                id=record.id, epoch=1, input=record.input, target="",
                messages=[ChatMessageUser(content=record.input), ChatMessageAssistant(content=response, model=model)],
                output=ModelOutput.from_content(model, response),
                scores={SCORER: recorded_score(query, model, rubric)},
                metadata=query.sample_metadata(),
            )
        )
    scored = [SampleScore(score=s.scores[SCORER], sample_id=s.id, sample_metadata=s.metadata) for s in samples if s.scores]
    usable = [s for s in scored if s.score.metadata and s.score.metadata["failure"] is not None]
    metrics = {name: EvalMetric(name=name, value=float(factory()(usable)))  # type: ignore[arg-type]
               for name, factory in (("failure_rate", failure_rate), ("failure_rate_ci_low", failure_rate_ci_low),
                                     ("failure_rate_ci_high", failure_rate_ci_high))}
    metadata = {
        "dataset": DATASET, "dataset_dir": str(workbook.path), "dataset_sha256": workbook.sha256,
        "build_id": f"xlsx-{workbook.sha256[:12]}", "dataset_source": "import:nodesynth-xlsx",
        "dataset_models": {"source": "nodesynth-release"}, "rubric": rubric.name, "system_prompt": None,
        "published_results": f"{model}'s responses and labels from {workbook.path.name}, {PROVENANCE}",
    }
    return EvalLog(
        status="success",
        eval=EvalSpec(
            created=now, task=TASK, task_id=content_id(TASK, workbook.sha256), eval_id=content_id(TASK, workbook.sha256, model),
            run_id=content_id(workbook.sha256), model=model, config=EvalConfig(), metadata=metadata,
            dataset=EvalDataset(name=DATASET, location=str(workbook.path), samples=len(samples), sample_ids=[s.id for s in samples]),
        ),
        plan=EvalPlan(name="published", steps=[EvalPlanStep(solver="recorded responses (nodesynth-xlsx)")]),
        results=EvalResults(
            total_samples=len(samples), completed_samples=len(samples),
            scores=[EvalScore(name=SCORER, scorer=SCORER, scored_samples=len(usable),
                              unscored_samples=len(samples) - len(usable), metrics=metrics,
                              params={"rubric": rubric.name})],
        ),
        stats=EvalStats(started_at=now, completed_at=now),
        samples=samples,
    )
