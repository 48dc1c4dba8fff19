"""The evidence stage: retrieve, extract, verify and normalise, for every L2 topic of a taxonomy.

One extraction call per L2 topic (its L3 terms in the prompt as context), so a build's cost
grows with the taxonomy's width, not its depth; L3 nodes share their topic's evidence.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from inspect_ai.model import Model

from ..llm import PromptTemplate, ReplyError, generate_validated, reject_for
from ..records import Evidence, EvidenceQuote, EvidenceRef, EvidenceReport, Reject, Taxonomy, TaxonomyNode
from .corpus import Passage
from .extract import ExtractedItem, extract
from .normalise import merge_phrases, normalise_country
from .retrieval import Retriever
from .untrusted import withhold_instructions
from .verify import DEFAULT_MIN_QUOTE_SCORE, EMPTY, LlmCheck, Verdict, verify_item

STAGE = "evidence"
MAX_REFS_PER_NODE = 5


@dataclass
class GroundingConfig:
    """How the stage runs (from the spec's `evidence` section)."""

    top_k: int = 3
    min_quote_score: float = DEFAULT_MIN_QUOTE_SCORE
    llm_check: bool = False
    # the reply format asked for: "compact" ('who: quote') for small models, "full" otherwise;
    # "auto" picks compact for the embedded nodesynth/ models
    extraction_format: Literal["auto", "full", "compact"] = "auto"

    def compact_for(self, model: Model) -> bool:
        if self.extraction_format == "auto":
            return str(model).startswith("nodesynth/")
        return self.extraction_format == "compact"


@dataclass
class Grounding:
    """What the stage hands on: evidence per node, refs for queries, the report and the rejects."""

    evidence: list[Evidence] = field(default_factory=list)
    refs: dict[str, list[EvidenceRef]] = field(default_factory=dict)  # node id -> refs (L2 and its L3s)
    rejects: list[Reject] = field(default_factory=list)
    report: EvidenceReport | None = None

    def for_node(self, node_id: str) -> list[Evidence]:
        return [e for e in self.evidence if e.node_id == node_id]


@dataclass
class _NodeOutcome:
    """One node's share of the stage: its evidence, every verdict, rejects and the counts for the report."""

    evidence: list[Evidence] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    passages: int = 0
    injections: int = 0
    calls: int = 0


def retrieval_query(taxonomy: Taxonomy, node: TaxonomyNode) -> str:
    """What to search for: the node's path and its L3 terms (and country), as plain words."""
    path = [n.label for n in taxonomy.path(node.id)]
    terms = [child.label for child in taxonomy.children(node.id)]
    country = [] if node.country == "ALL" else [node.country]
    return " ".join([taxonomy.domain, *path, *terms, *country])


def support_checker(model: Model) -> LlmCheck:
    """The optional LLM check: a yes/no question to `model` (an unusable answer counts as no)."""
    template = PromptTemplate.load("evidence_support")

    def parse(reply: str) -> bool:
        word = reply.strip().split(maxsplit=1)[0].strip(".,!").casefold() if reply.strip() else ""
        if word not in {"yes", "no"}:
            raise ReplyError("answer with one word: yes or no.")
        return word == "yes"

    async def check(item: ExtractedItem, quote: str) -> bool:
        result = await generate_validated(
            model, template.messages(quote=quote, kind=item.kind, item=item.item), parse, max_tokens=4, retries=1, stage="evidence"
        )
        return bool(result.value)

    return check


async def ground_taxonomy(
    taxonomy: Taxonomy,
    retriever: Retriever,
    extractor: Model,
    config: GroundingConfig | None = None,
    *,
    checker: Model | None = None,
    on_node_done: Callable[[], None] | None = None,
) -> Grounding:
    """Evidence for every L2 topic (or L1 category, for a taxonomy without topics), concurrently."""
    config = config or GroundingConfig()
    nodes = taxonomy.level(2) or taxonomy.level(1)
    llm_check = support_checker(checker or extractor) if config.llm_check else None
    outcomes = await asyncio.gather(
        *(_ground_node(taxonomy, node, retriever, extractor, config, llm_check, on_node_done) for node in nodes)
    )
    grounding = Grounding()
    verdicts: list[Verdict] = []
    for node, outcome in zip(nodes, outcomes, strict=True):
        grounding.evidence.extend(outcome.evidence)
        grounding.rejects.extend(outcome.rejects)
        verdicts.extend(outcome.verdicts)
        refs = [
            EvidenceRef(source_id=e.source.id, title=e.source.title, url=e.source.url, quote=quote.text)
            for e in outcome.evidence
            for quote in e.quotes
        ][:MAX_REFS_PER_NODE]
        for target in [node, *taxonomy.children(node.id)]:
            grounding.refs[target.id] = refs
    empty = sum(v.reason == EMPTY for v in verdicts)
    checked = len(verdicts) - empty
    failed = sum(not v.kept for v in verdicts) - empty
    grounding.report = EvidenceReport(
        retriever=retriever.describe(),
        top_k=config.top_k,
        min_quote_score=config.min_quote_score,
        llm_check=config.llm_check,
        nodes=len(nodes),
        passages=sum(o.passages for o in outcomes),
        extraction_calls=sum(o.calls for o in outcomes),
        extracted=len(verdicts),
        empty=empty,
        checked=checked,
        failed=failed,
        kept=checked - failed,
        failed_share=round(failed / checked, 4) if checked else None,
        failures_by_reason=dict(Counter(v.reason for v in verdicts if v.reason and v.reason != EMPTY)),
        injection_suspects=sum(o.injections for o in outcomes),
    )
    return grounding


async def _ground_node(
    taxonomy: Taxonomy,
    node: TaxonomyNode,
    retriever: Retriever,
    extractor: Model,
    config: GroundingConfig,
    llm_check: LlmCheck | None,
    on_node_done: Callable[[], None] | None,
) -> _NodeOutcome:
    context = {"node_id": node.id, "node": node.label}
    outcome = _NodeOutcome()
    rejects = outcome.rejects
    try:
        found = await retriever.search(retrieval_query(taxonomy, node), config.top_k)
        shown: list[Passage] = []
        for passage in found:
            clean, withheld = withhold_instructions(passage)
            outcome.injections += len(withheld)
            rejects += [
                Reject(
                    stage=STAGE,
                    reason="retrieved text withheld from the extractor: it reads as an instruction to a model",
                    context={**context, "source_id": passage.source.id, "source": passage.source.title, "text": sentence},
                )
                for sentence in withheld
            ]
            if clean.text.strip():
                shown.append(clean)
        if not shown:
            rejects.append(Reject(stage=STAGE, reason="no passage found for this node", context=context))
            return outcome
        outcome.passages = len(shown)
        topic_path = " > ".join(n.label for n in taxonomy.path(node.id)[1:]) or node.label
        terms = [child.label for child in taxonomy.children(node.id)]
        if terms:
            topic_path += f" ({', '.join(terms)})"
        compact = config.compact_for(extractor)
        extraction = await extract(
            extractor,
            topic_path=topic_path,
            country=node.country,
            passages=shown,
            compact=compact,
            max_tokens=120 if compact else 220,  # small models ramble past their list: cap the time they take
        )
        outcome.calls = extraction.call.attempts
        if extraction.call.value is None:
            rejects.append(reject_for(STAGE, extraction.call, context))
            return outcome
        rejects += [
            Reject(stage=STAGE, reason=f"line dropped: {why}", context={**context, "line": line}, raw_output=extraction.call.raw)
            for line, why in extraction.dropped
        ]
        outcome.verdicts = verdicts = [
            await verify_item(item, extraction.passages, min_quote_score=config.min_quote_score, llm_check=llm_check)
            for item in extraction.items
        ]
        for verdict in verdicts:
            if not verdict.kept:
                rejects.append(
                    Reject(
                        stage=STAGE,
                        reason=f"item failed verification: {verdict.reason}" + (f" ({verdict.detail})" if verdict.detail else ""),
                        context={**context, **verdict.item.model_dump(), "score": verdict.score},
                        raw_output=extraction.call.raw,
                    )
                )
        outcome.evidence = assemble(node.id, verdicts)
        return outcome
    finally:
        if on_node_done is not None:
            on_node_done()


def assemble(node_id: str, verdicts: list[Verdict]) -> list[Evidence]:
    """Kept items as evidence records: one per source, one quote per verified span, items normalised."""
    by_source: dict[str, tuple[Passage, dict[str, list[Verdict]]]] = {}
    for verdict in verdicts:
        if not verdict.kept or verdict.passage is None or verdict.quote is None:
            continue
        passage, quotes = by_source.setdefault(verdict.passage.source.id, (verdict.passage, {}))
        quotes.setdefault(verdict.quote, []).append(verdict)
    evidence = []
    for passage, quotes in by_source.values():
        records = []
        for text, group in quotes.items():
            countries = [c for c in (normalise_country(v.item.item) for v in group if v.item.kind == "country") if c]
            unique = list({c.alpha_2: c for c in countries}.values())
            records.append(
                EvidenceQuote(
                    text=text,
                    occupations=merge_phrases([v.item.item for v in group if v.item.kind == "occupation"]),
                    demographics=merge_phrases([v.item.item for v in group if v.item.kind == "demographic"]),
                    countries=[c.name for c in unique],
                    country_codes=[c.alpha_2 for c in unique],
                    match_score=min(v.score for v in group),
                    supported_by_llm=[v.item.item for v in group if v.by_llm],
                )
            )
        evidence.append(Evidence(node_id=node_id, source=passage.source, quotes=records))
    return evidence
