"""The build engine: a domain spec in, a dataset directory out.

spec → L1 categories → L2 topics → L3 terms (generator or TaG) → evidence (when a corpus or
web search is configured) → user groups (grounded in the evidence) → queries → quality gates
(near-duplicates, wrong language) → datasets/<name>/.
Each stage is a function from records to records; this module only wires them together, keeps
the accounting and writes the artifact.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from inspect_ai.model import Model
from pydantic import BaseModel, Field

from .artifact import check_output_dir, new_build_id, new_canary, package_versions, utc_now, write_dataset
from .evidence import (
    Grounding,
    GroundingConfig,
    Retriever,
    ground_taxonomy,
    ground_user_groups,
)
from .faults import ProviderUnavailable
from .llm import (
    MIN_CELLS_IN_FLIGHT,
    BuildStats,
    keep_no_transcript,
    limit_cells_in_flight,
    model_connections,
    track_stats,
    untrack_stats,
)
from .novelty import TextSet, read_texts
from .pipeline import grow
from .plan import STAGE_ROLES, Prices, plan_build
from .profiles import prompts_for, spec_values
from .quality import apply_quality_gates
from .queries import deduplicate, generate_queries, query_cells
from .records import EvidenceReport, Manifest, ModelUsageSummary, PromptReport, QualityReport, Reject, Taxonomy
from .spec import DomainSpec, EvidenceSpec
from .stage import StageResult
from .taxonomy import generate_categories, generate_topics
from .terms import expand_terms
from .user_groups import generate_user_groups

NOT_GROUNDED_NOTE = (
    "Not grounded in evidence: no corpus or web search was configured (spec `evidence:` or "
    "`nodesynth build --corpus DIR`), so evidence.jsonl is empty and the user groups are the generator's."
)
SMALL_MODEL_NOTE = (
    "Built with the embedded 135M-parameter local model (nodesynth/smollm2) for trying the pipeline, "
    "not for studies: expect weak, repetitive queries. Point --model at a strong model for real work."
)


class BuildProgress(Protocol):
    """What the engine reports while it works (the CLI draws it with rich)."""

    def stage(self, name: str, total: int) -> Callable[[], None]: ...


class _Silent:
    def stage(self, name: str, total: int) -> Callable[[], None]:
        return lambda: None


@dataclass
class BuildModels:
    """The models of one build, created once (Inspect's connection limit is per model instance)."""

    generator: Model
    tag: Model | None = None
    extractor_model: Model | None = None
    searcher: Model | None = None
    query_model: Model | None = None  # the query stage's own model (the shipped query adapter), else the generator

    @property
    def batch(self) -> bool | int | None:
        """The provider batch setting (Inspect's GenerateConfig.batch) the generator was given."""
        batch = self.generator.config.batch
        return batch if isinstance(batch, (bool, int)) or batch is None else True

    @property
    def terms(self) -> Model:
        return self.tag or self.generator

    @property
    def queries(self) -> Model:
        return self.query_model or self.generator

    @property
    def extractor(self) -> Model:
        return self.extractor_model or self.generator

    def names(self, grounded: bool = False) -> dict[str, str]:
        names = {"generator": model_label(self.generator), "tag": model_label(self.terms)}
        if self.query_model is not None:
            names["query"] = model_label(self.query_model)
        if grounded:
            names["extractor"] = model_label(self.extractor)
        if self.searcher is not None:
            names["searcher"] = model_label(self.searcher)
        return names


def model_label(model: Model) -> str:
    """How the manifest names a model: provider/name, plus its adapter, which changes every answer."""
    adapter = model.model_args.get("adapter")
    if not adapter:
        return str(model)
    path = Path(str(adapter)).resolve()
    try:  # the shipped adapter by its place in the package, so manifests do not name a home folder
        path = path.relative_to(Path(__file__).resolve().parents[1])
    except ValueError:
        pass
    return f"{model} (adapter {path})"


class BuildSummary(BaseModel):
    """The final summary of a build (printed as JSON with --json)."""

    name: str
    out_dir: str
    build_id: str
    queries: int
    rejects: int
    taxonomy_nodes: int
    user_groups: int
    model_calls: int
    cache_hits: int
    tokens: int
    seconds: float
    retried: int = 0
    retries: dict[str, int] = Field(default_factory=dict)
    provider_errors: int = 0
    calls_by_stage: dict[str, int] = Field(default_factory=dict)
    usage_by_role: dict[str, dict[str, ModelUsageSummary]] = Field(default_factory=dict)
    batch: bool | int | None = None
    estimated_cost: float | None = None
    rejects_by_stage: dict[str, int] = Field(default_factory=dict)
    usage: dict[str, ModelUsageSummary] = Field(default_factory=dict)
    evidence: EvidenceReport | None = None
    quality: QualityReport | None = None
    prompt_profile: str | None = None


async def _settle_other_tasks() -> None:
    """Cancel and await the calls still running when the build stops, so no other task's failure
    is reported later as "exception never retrieved" with a traceback."""
    current = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def build_accounting(stats: BuildStats, models: BuildModels, prices: Mapping[str, Prices]) -> dict[str, Any]:
    """The manifest's and summary's accounting fields: calls per stage, tokens per role, retries, cost."""
    by_role: dict[str, dict[str, ModelUsageSummary]] = {}
    for stage, usage in stats.usage_by_stage.items():
        role = STAGE_ROLES.get(stage, stage)
        for model, summary in usage.items():
            total = by_role.setdefault(role, {}).setdefault(model, ModelUsageSummary())
            total.input_tokens += summary.input_tokens
            total.output_tokens += summary.output_tokens
            total.total_tokens += summary.total_tokens
    cost = None
    if prices and all(model in prices for model in stats.usage):
        cost = sum(prices[m].cost(u.input_tokens, u.output_tokens) for m, u in stats.usage.items())
    return {
        "calls_by_stage": dict(stats.calls_by_stage),
        "usage_by_role": by_role,
        "retries": dict(stats.retries),
        "provider_errors": stats.provider_errors,
        "batch": models.batch,
        "estimated_cost": cost,
    }


def evidence_note(report: EvidenceReport) -> str:
    """The manifest/card line that says how far to trust the grounding."""
    if not report.checked:
        return f"Evidence ({report.retriever}): the extractor returned no checkable items; queries are not grounded."
    return (
        f"Evidence ({report.retriever}): {report.kept} of {report.checked} extracted items kept; "
        f"{report.failed_share:.0%} failed verification (quote not in its source at partial_ratio "
        f">= {report.min_quote_score:.0f}, misattributed, or not supporting the item)."
    )


def prompt_stages(models: BuildModels, grounded: bool) -> dict[str, Model | None]:
    """Each prompt template a build sends, and the model it is sent to (which decides `auto`)."""
    stages: dict[str, Model | None] = {
        "l1_categories": models.generator,
        "l2_topics": models.generator,
        "l3_terms": models.terms,
        "user_groups": models.generator,
        "query": models.queries,
    }
    if grounded:
        stages.update(evidence_extract=models.extractor, evidence_support=models.extractor)
    return stages


def is_embedded(model: Model) -> bool:
    return str(model).startswith("nodesynth/")


async def build_dataset(
    spec: DomainSpec,
    spec_text: str,
    models: BuildModels,
    out_dir: Path,
    progress: BuildProgress | None = None,
    *,
    retriever: Retriever | None = None,
    benchmarks: Sequence[TextSet] | None = None,
    prices: Mapping[str, Prices] | None = None,
    pipelined: bool = True,
) -> BuildSummary:
    """Build `spec` into `out_dir`.

    With a `retriever` (or a spec `evidence:` section, opened here) the taxonomy is grounded in
    evidence before user groups are chosen; raises CorpusError for a missing or empty corpus
    before any model call. `benchmarks` are the known prompts the quality gate drops near-copies
    of (default: the spec's `quality.benchmarks`, read here; NoveltyError for an unreadable one,
    before any model call). An `out_dir` that is not absent, empty or a dataset this tool wrote
    raises OutputPathError before any model call too. `prices` (model name -> Prices) give the
    summary's estimated cost. An ungrounded build runs its stages without barriers
    (`pipelined=False`: one after another, as a grounded build must; the dataset is the same). A
    provider that stays down raises ProviderUnavailable (generators.faults) before anything is
    written; the calls that finished are in Inspect's cache, so the same call resumes.
    """
    check_output_dir(out_dir)
    keep_no_transcript()
    # two cells waiting per connection keep every connection busy and bound what is held in memory
    limit_cells_in_flight(max(MIN_CELLS_IN_FLIGHT, 2 * model_connections(models.queries)))
    progress = progress or _Silent()
    if benchmarks is None:
        benchmarks = [read_texts(reference) for reference in spec.quality.benchmarks]
    if retriever is None and spec.evidence is not None:
        from .evidence.retrieval import open_retriever

        retriever = open_retriever(spec.evidence, searcher=models.searcher or models.generator)
    grounded = retriever is not None
    prompts = prompts_for(spec)
    stage_profiles = prompts.check(prompt_stages(models, grounded))  # PromptError before any model call
    started = time.monotonic()
    build_id = new_build_id()
    stats = BuildStats()
    token = track_stats(stats)
    rejects: list[Reject] = []
    try:
        origin: Literal["tag", "generated"] = "tag" if models.tag is not None else "generated"
        grounding = Grounding()
        if retriever is None and pipelined:  # no barriers between the stages (generators.pipeline)
            planned = plan_build(spec)
            grown = await grow(
                spec, models.generator, models.terms, origin=origin, build_id=build_id, models_used=models.names(False),
                stage=progress.stage,
                query_model=models.queries,
                planned={"L1 categories": len(spec.countries or ["ALL"]), "L2 topics": planned.stages["l2"].calls,
                         "L3 terms": planned.stages["l3"].calls, "user groups": planned.stages["user_groups"].calls,
                         "queries": planned.cells},
            )
            taxonomy, categories, cells = grown.taxonomy, grown.categories, grown.cells
            groups = StageResult(items=grown.groups)
            rejects.extend(grown.rejects)
            queries = deduplicate(grown.queries)
            verdicts = grown.verdicts
        else:
            verdicts = {}
            countries = spec.countries or ["ALL"]
            advance = progress.stage("L1 categories", len(countries))
            categories = []
            for result in await asyncio.gather(*(generate_categories(spec, models.generator, c) for c in countries)):
                categories.extend(result.items)
                rejects.extend(result.rejects)
                advance()
            taxonomy = Taxonomy(domain=spec.domain, nodes=list(categories))

            advance = progress.stage("L2 topics", 1)
            topics = await generate_topics(spec, categories, models.generator)
            taxonomy.nodes.extend(topics.items)
            rejects.extend(topics.rejects)
            advance()

            advance = progress.stage("L3 terms", 1)
            terms = await expand_terms(spec, topics.items, taxonomy, models.terms, origin=origin)
            taxonomy.nodes.extend(terms.items)
            rejects.extend(terms.rejects)
            advance()

            if retriever is not None:
                evidence_spec = spec.evidence or EvidenceSpec()
                grounding = await ground_taxonomy(
                    taxonomy,
                    retriever,
                    models.extractor,
                    GroundingConfig(
                        top_k=evidence_spec.top_k,
                        min_quote_score=evidence_spec.verify.min_quote_score,
                        llm_check=evidence_spec.verify.llm,
                        extraction_format=evidence_spec.extraction_format,
                        prompts=prompts,
                        context=spec_values(spec),
                    ),
                    on_node_done=progress.stage("evidence", len(taxonomy.level(2) or taxonomy.level(1))),
                )
                rejects.extend(grounding.rejects)

            advance = progress.stage("user groups", 1)
            groups = await generate_user_groups(spec, categories, models.generator)
            rejects.extend(groups.rejects)
            if grounded:
                groups.items, replaced = ground_user_groups(
                    taxonomy, categories, groups.items, grounding.evidence, spec.size.user_groups_per_l1
                )
                rejects.extend(replaced)
            advance()

            cells = query_cells(spec, taxonomy, groups.items)
            queries = await generate_queries(
                spec,
                taxonomy,
                groups.items,
                models.queries,
                build_id=build_id,
                models_used=models.names(grounded),
                evidence_refs=grounding.refs,
                on_cell_done=progress.stage("queries", len(cells)),
            )
        rejects.extend(queries.rejects)
        advance = progress.stage("quality gates", 1)
        kept, dropped, quality = apply_quality_gates(queries.items, spec.quality, benchmarks, verdicts)
        rejects.extend(dropped)
        advance()
    except ProviderUnavailable:
        await _settle_other_tasks()
        raise
    finally:
        untrack_stats(token)

    seconds = round(time.monotonic() - started, 2)
    accounting = build_accounting(stats, models, prices or {})
    notes = [SMALL_MODEL_NOTE] if is_embedded(models.generator) else []
    if spec.languages != ["en"] and is_embedded(models.generator):
        notes.append("The embedded model writes poor non-English text; check non-English queries by hand.")
    notes.append(evidence_note(grounding.report) if grounding.report is not None else NOT_GROUNDED_NOTE)
    manifest = Manifest(
        name=spec.name,
        build_id=build_id,
        created=utc_now(),
        domain=spec.domain,
        counts={"user_groups": len(groups.items), "query_cells": len(cells)},
        models=models.names(grounded),
        versions=package_versions(),
        usage=stats.usage,
        model_calls=stats.model_calls,
        cache_hits=stats.cache_hits,
        seconds=seconds,
        **accounting,
        canary=new_canary(),
        notes=notes,
        evidence=grounding.report,
        quality=quality,
        prompt_profile=stage_profiles["query"],
        prompts=PromptReport(
            profile=spec.prompt_profile,
            stages=stage_profiles,
            prompts_dir=spec.prompts,
            tones=spec.tones,
            calls=stats.stages,
        ),
    )
    write_dataset(
        out_dir,
        spec_text=spec_text,
        taxonomy=taxonomy,
        evidence=grounding.evidence,
        queries=kept,
        rejects=rejects,
        manifest=manifest,
        spec_summary={"languages": spec.languages, "definition": spec.definition},
    )
    by_stage: dict[str, int] = {}
    for reject in rejects:
        by_stage[reject.stage] = by_stage.get(reject.stage, 0) + 1
    return BuildSummary(
        name=spec.name,
        out_dir=str(out_dir),
        build_id=build_id,
        queries=len(kept),
        rejects=len(rejects),
        taxonomy_nodes=len(taxonomy.nodes),
        user_groups=len(groups.items),
        model_calls=stats.model_calls,
        cache_hits=stats.cache_hits,
        tokens=stats.total_tokens,
        seconds=seconds,
        retried=stats.retried,
        **accounting,
        rejects_by_stage=by_stage,
        usage=stats.usage,
        evidence=grounding.report,
        quality=quality,
        prompt_profile=stage_profiles["query"],
    )

