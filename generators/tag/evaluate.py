"""Held-out evaluation of the TaG: the untuned base model against the tuned adapter.

Both models answer each held-out row's L3 request through the build's own call (greedy,
validated, Inspect's `get_model` path); the terms the build would keep are compared with the
reviewed terms by term-level Jaccard (the measure reported) and NodeSynth's character-set Jaccard
(for comparability only), overall, per language and per domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from .data import TagRow
from .generate import GeneratedTerms, generate_all
from .jaccard import char_jaccard, term_jaccard

if TYPE_CHECKING:
    from inspect_ai.model import Model

    from .train import TrainingCard


class Scores(BaseModel):
    rows: int
    term_jaccard: float
    char_jaccard: float
    exact_terms: float = Field(description="mean number of the 3 reference terms reproduced exactly (normalised)")
    no_terms: int = Field(description="rows where the model gave no usable term")


class RowResult(BaseModel):
    row_id: str
    domain: str
    language: str
    country: str
    l2: str
    reference: list[str]
    predicted: list[str]
    term_jaccard: float
    char_jaccard: float


class ModelReport(Scores):
    """One model's scores: overall (the inherited fields), by language, by domain, and per row."""

    model: str
    model_args: dict[str, Any] = Field(default_factory=dict)
    by_language: dict[str, Scores] = Field(default_factory=dict)
    by_domain: dict[str, Scores] = Field(default_factory=dict)
    per_row: list[RowResult] = Field(default_factory=list)


class EvalReport(BaseModel):
    data_file: str
    data_sha256: str
    adapter: str
    held_out_rows: int
    same_split_as_training: bool
    base: ModelReport
    tuned: ModelReport
    gain: dict[str, Any]
    copy_ceiling: float | None = Field(
        None,
        description="term Jaccard of copying, for each held-out row, the best training row with the same domain, "
        "topic and language: what reproducing reviewed terms could reach on this split without new knowledge",
    )


def copy_ceiling(held_out: Sequence[TagRow], training: Sequence[TagRow]) -> float | None:
    """Mean over held-out rows of the best term Jaccard any same-topic, same-language training row gets.

    An oracle that knows which training row to copy; a TaG that only learned the training rows
    cannot beat it by much, so it puts the term-level figures in proportion.
    """
    if not held_out:
        return None
    best = []
    for row in held_out:
        siblings = [t for t in training if (t.domain, t.l1, t.l2, t.language) == (row.domain, row.l1, row.l2, row.language)]
        best.append(max((term_jaccard(s.term_names, row.term_names, row.language) for s in siblings), default=0.0))
    return round(fmean(best), 4)


def score_rows(generated: Sequence[GeneratedTerms]) -> list[RowResult]:
    results = []
    for item in generated:
        predicted = [name for name, _ in item.terms]
        reference = item.row.term_names
        results.append(
            RowResult(
                row_id=item.row.id,
                domain=item.row.domain,
                language=item.row.language,
                country=item.row.country,
                l2=item.row.l2,
                reference=reference,
                predicted=predicted,
                term_jaccard=round(term_jaccard(predicted, reference, item.row.language), 4),
                char_jaccard=round(char_jaccard(predicted, reference), 4),
            )
        )
    return results


def aggregate(results: Sequence[RowResult]) -> Scores:
    from .jaccard import term_set

    exact = [
        len(term_set(result.predicted, result.language) & term_set(result.reference, result.language))
        for result in results
    ]
    return Scores(
        rows=len(results),
        term_jaccard=round(fmean(r.term_jaccard for r in results), 4) if results else 0.0,
        char_jaccard=round(fmean(r.char_jaccard for r in results), 4) if results else 0.0,
        exact_terms=round(fmean(exact), 3) if exact else 0.0,
        no_terms=sum(1 for r in results if not r.predicted),
    )


def _grouped(results: Sequence[RowResult], key: Callable[[RowResult], str]) -> dict[str, Scores]:
    groups: dict[str, list[RowResult]] = {}
    for result in results:
        groups.setdefault(key(result), []).append(result)
    return {name: aggregate(group) for name, group in sorted(groups.items())}


def model_report(name: str, model_args: dict[str, Any], generated: Sequence[GeneratedTerms]) -> ModelReport:
    results = score_rows(generated)
    overall = aggregate(results)
    return ModelReport(
        **overall.model_dump(),
        model=name,
        model_args=model_args,
        by_language=_grouped(results, lambda r: r.language),
        by_domain=_grouped(results, lambda r: r.domain),
        per_row=results,
    )


def gain(base: ModelReport, tuned: ModelReport) -> dict[str, Any]:
    """Tuned minus base: overall and per language, for both measures."""

    def delta(b: Scores, t: Scores) -> dict[str, float]:
        return {
            "term_jaccard": round(t.term_jaccard - b.term_jaccard, 4),
            "char_jaccard": round(t.char_jaccard - b.char_jaccard, 4),
        }

    return {
        **delta(base, tuned),
        "by_language": {k: delta(base.by_language[k], tuned.by_language[k]) for k in base.by_language if k in tuned.by_language},
        "by_domain": {k: delta(base.by_domain[k], tuned.by_domain[k]) for k in base.by_domain if k in tuned.by_domain},
    }


async def evaluate_models(
    rows: Sequence[TagRow],
    base: Model,
    tuned: Model,
    *,
    base_args: dict[str, Any] | None = None,
    tuned_args: dict[str, Any] | None = None,
    on_done: Callable[[str], Callable[[], None]] | None = None,
) -> tuple[ModelReport, ModelReport]:
    """Run both models over `rows` (one after the other: they share the CPU) and score them."""
    advance = on_done or (lambda name: lambda: None)
    base_generated = await generate_all(base, rows, advance("base"))
    tuned_generated = await generate_all(tuned, rows, advance("tuned"))
    return (
        model_report(str(base), base_args or {}, base_generated),
        model_report(str(tuned), tuned_args or {}, tuned_generated),
    )


# --- evaluating an adapter on its held-out rows ----------------------------------------------


def held_out_for(card: TrainingCard, rows: Sequence[TagRow], data_sha256: str) -> tuple[list[TagRow], bool]:
    """The rows the adapter never trained on: its recorded held-out ids when `rows` are its training
    data (same sha256), else the seeded split of `rows` recomputed (the bool says which)."""
    from .data import split_rows

    if data_sha256 == card.data_sha256:
        wanted = set(card.held_out_ids)
        return [row for row in rows if row.id in wanted], True
    return split_rows(rows, card.config.seed, card.config.held_out).held_out, False


def card_data_file(card: TrainingCard) -> Path:
    """The training data the card names (relative paths are relative to the repository root)."""
    from .data import REPO_ROOT

    path = Path(card.data_file)
    return path if path.is_absolute() else REPO_ROOT / path


async def evaluate_adapter(
    adapter_dir: Path,
    data_file: Path | None = None,
    *,
    limit: int | None = None,
    on_done: Callable[[str], Callable[[], None]] | None = None,
) -> EvalReport:
    """Base model vs base + `adapter_dir` on the adapter's held-out rows (see `held_out_for`).

    The base is served as the build serves a generator (`get_model(card.base_model)`, its default
    model args); the tuned model as the build serves the TaG (`adapter.tag_model_kwargs`).
    Raises AdapterError, TrainError or TagDataError (one sentence each) for unusable inputs.
    """
    from inspect_ai.model import get_model

    from .adapter import tag_model_kwargs
    from .data import file_sha256, load_rows
    from .train import read_card

    card = read_card(adapter_dir)
    tuned_name, tuned_kwargs = tag_model_kwargs(adapter_dir)
    data_file = data_file or card_data_file(card)
    rows = load_rows(data_file)
    digest = file_sha256(data_file)
    held_out, same = held_out_for(card, rows, digest)
    held_out = held_out[:limit] if limit else held_out
    base = get_model(card.base_model, memoize=False)
    tuned = get_model(tuned_name, memoize=False, **tuned_kwargs)
    base_report, tuned_report = await evaluate_models(
        held_out,
        base,
        tuned,
        tuned_args={k: v for k, v in tuned_kwargs.items() if k != "adapter"},
        on_done=on_done,
    )
    return EvalReport(
        data_file=str(data_file),
        data_sha256=digest,
        adapter=str(adapter_dir),
        held_out_rows=len(held_out),
        same_split_as_training=same,
        base=base_report,
        tuned=tuned_report,
        gain=gain(base_report, tuned_report),
        copy_ceiling=copy_ceiling(held_out, [row for row in rows if row.id not in {h.id for h in held_out}]),
    )
