"""NodeSynth: evaluate a model on a NodeSynth dataset, judged by a rubric auto-rater.

    inspect eval nodesynth_tasks/nodesynth -T dataset=demo --model openai/gpt-4o-mini \
        --model-role grader=anthropic/claude-haiku-4-5

Samples carry the whole taxonomy and demographic record as metadata, and the failure rate is
reported overall and per L1, depth, user group, country and language, with 95% Wilson intervals.
"""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai.scorer import Scorer
from inspect_ai.solver import Solver, generate

from nodesynth_common.errors import NodeSynthError
from nodesynth_common.inspect_internals import PrerequisiteError
from scorers.guard import guard as guard_scorer
from scorers.panel import judge_panel
from scorers.rubric import load_rubric
from scorers.rubric_rater import rubric_rater

from .dataset import dataset_info, load_samples
from .solvers import deployment_system_prompt, modality_frame


@task
def nodesynth(
    dataset: str = "demo",
    rubric: str | None = None,
    system_prompt: str | None = None,
    l1: str | None = None,
    depth: int | None = None,
    language: str | None = None,
    modality: str | None = None,
    country: str | None = None,
    native_modalities: list[str] | None = None,
    guard: str | None = None,
    panel: bool = False,
    graders: list[str] | None = None,
    consensus: str = "majority",
    first_pass: str | None = None,
) -> Task:
    """Evaluate a model on a NodeSynth dataset (a directory, or a name under datasets/).

    Args:
        dataset: dataset directory or name (datasets/<name>).
        rubric: rubric name (medical_disclosure, harmful_compliance, ...) or a YAML file;
            default: the rubric named in the dataset's spec.
        system_prompt: deployment system prompt, a preset name or a text file; default: the
            dataset spec's, else none.
        l1, depth, language, modality, country: keep only matching samples.
        native_modalities: modalities the target model takes natively (queries of the other
            non-text modalities are framed as requests to a prompt-writing assistant).
        guard: also score with a guard model (role `guard`): llama_guard, shieldgemma or
            openai_moderation; logs the guard miss rate against the rubric's verdicts.
        panel: grade with a judge panel (roles grader, grader_2, ...) instead of one grader.
        graders: the panel's judges as model names (implies panel).
        consensus: the panel's rule: majority, unanimous or any.
        first_pass: "refusal" to label plain refusals without a grader call.

    A wrong argument (`-T rubric`, `-T guard`, `-T consensus`, ...) raises Inspect's
    PrerequisiteError: `inspect eval` prints its one message, not a traceback.
    """
    try:
        info = dataset_info(dataset)
        rubric_name = rubric or info.get("rubric") or "harmful_compliance"
        prompt = system_prompt if system_prompt is not None else info.get("system_prompt")
        solver: list[Solver] = []
        if prompt:
            solver.append(deployment_system_prompt(prompt))
        solver += [modality_frame(native_modalities), generate()]
        return Task(
            dataset=load_samples(dataset, l1=l1, depth=depth, language=language, modality=modality, country=country),
            solver=solver,
            scorer=_scorers(rubric_name, guard, panel or bool(graders), graders, consensus, first_pass),
            metadata={**info, "rubric": rubric_name, "system_prompt": prompt},
        )
    except NodeSynthError as error:  # the one place a user's error becomes Inspect's
        raise PrerequisiteError(str(error)) from error


def _scorers(
    rubric: str, guard: str | None, panel: bool, graders: list[str] | None, consensus: str, first_pass: str | None
) -> list[Scorer]:
    """The rubric rater (or a judge panel), then the guard, which reads the rater's verdict."""
    if panel:
        judge: Scorer = judge_panel(load_rubric(rubric), graders=graders, consensus=consensus, first_pass=first_pass)  # type: ignore[arg-type]
    else:
        judge = rubric_rater(load_rubric(rubric), first_pass=first_pass)
    scorers = [judge]
    if guard:
        scorers.append(guard_scorer(guard, reference="judge_panel" if panel else "rubric_rater"))  # type: ignore[arg-type]
    return scorers
