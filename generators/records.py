"""The dataset record models: every stage, the importer and the Inspect tasks read and write these.

One place for the schema of a built dataset (`datasets/<name>/`), so the build, the importer
and the task loader cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NodeOrigin = Literal["generated", "curated", "tag", "imported"]
Modality = Literal["text-to-text", "text-to-image", "text-to-video", "text-to-audio"]


def content_id(*parts: Any, length: int = 16) -> str:
    """A stable id: the sha256 of the parts' canonical JSON, truncated."""
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:length]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaxonomyNode(Record):
    """One node of the harm taxonomy: L1 category, L2 topic or L3 term."""

    id: str
    level: int = Field(ge=1, le=3)
    label: str
    parent_id: str | None = None
    rationale: str = ""
    origin: NodeOrigin = "generated"
    country: str = "ALL"
    language: str = "en"

    @staticmethod
    def make_id(domain: str, level: int, label: str, parent_id: str | None, country: str) -> str:
        return f"L{level}-" + content_id(domain, level, label.casefold(), parent_id, country, length=10)


class Taxonomy(Record):
    domain: str
    nodes: list[TaxonomyNode] = Field(default_factory=list)

    def by_id(self) -> dict[str, TaxonomyNode]:
        return {node.id: node for node in self.nodes}

    def level(self, level: int) -> list[TaxonomyNode]:
        return [node for node in self.nodes if node.level == level]

    def children(self, node_id: str) -> list[TaxonomyNode]:
        return [node for node in self.nodes if node.parent_id == node_id]

    def path(self, node_id: str) -> list[TaxonomyNode]:
        """The nodes from the L1 root down to `node_id`."""
        index = self.by_id()
        path: list[TaxonomyNode] = []
        current: str | None = node_id
        while current is not None:
            node = index[current]
            path.append(node)
            current = node.parent_id
        return list(reversed(path))


class Source(Record):
    """Where a piece of evidence came from."""

    id: str
    title: str = ""
    url: str | None = None
    date: str | None = Field(None, description="publication date as given by the source (free text, e.g. 2023-03)")
    retriever: str | None = Field(None, description="how it was found: 'corpus' (a local document) or 'web'")


class EvidenceRef(Record):
    """A pointer from a query to the quote that grounds it."""

    source_id: str
    title: str = ""
    url: str | None = None
    quote: str = ""


class EvidenceQuote(Record):
    """A quote from the source and the items it was verified to support."""

    text: str
    occupations: list[str] = Field(default_factory=list)
    demographics: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    country_codes: list[str] = Field(
        default_factory=list, description="ISO 3166-1 alpha-2 codes of `countries`, in the same order"
    )
    match_score: float | None = Field(
        None, description="rapidfuzz partial_ratio (0-100) of the quote against the source text"
    )
    supported_by_llm: list[str] = Field(
        default_factory=list, description="items the lexical check missed and an LLM check accepted"
    )


class Evidence(Record):
    """Verified evidence for one taxonomy node (one line of evidence.jsonl)."""

    node_id: str
    source: Source
    quotes: list[EvidenceQuote] = Field(default_factory=list)


class UserGroup(Record):
    """A group of people who would send queries about an L1 category."""

    id: str
    l1_id: str
    name: str
    description: str = ""
    demographics: list[str] = Field(default_factory=list)
    occupations: list[str] = Field(default_factory=list)
    country: str = "ALL"
    origin: Literal["generated", "evidence"] = "generated"
    evidence_refs: list[EvidenceRef] = Field(default_factory=list, description="the quotes naming this group")


class QueryRecord(Record):
    """One evaluation sample (one line of queries.jsonl)."""

    id: str
    input: str
    language: str = "en"
    modality: str = "text-to-text"
    domain: str
    l1: str
    l2: str
    l3: str | None = None
    l1_id: str | None = None
    l2_id: str | None = None
    l3_id: str | None = None
    depth: int = Field(ge=1, le=3)
    taxonomy_path: list[str] = Field(default_factory=list)
    user_group: str | None = None
    country: str | None = None
    demographics: list[str] = Field(default_factory=list)
    occupations: list[str] = Field(default_factory=list)
    evidence_refs: list[EvidenceRef] = Field(default_factory=list)
    use_case: str | None = None
    tone: str | None = None
    models: dict[str, str] = Field(default_factory=dict)
    build_id: str

    @staticmethod
    def make_id(
        text: str, node_id: str | None, user_group: str | None, language: str, modality: str, tone: str | None = None
    ) -> str:
        parts = (text.strip(), node_id, user_group, language, modality) + ((tone,) if tone is not None else ())
        return "q-" + content_id(*parts)


class Reject(Record):
    """Something the build dropped, and why (one line of rejects.jsonl)."""

    stage: str
    reason: str
    context: dict[str, Any] = Field(default_factory=dict)
    raw_output: str | None = None


class ModelUsageSummary(Record):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


class StageCalls(Record):
    """How one build stage's validated calls went (manifest `prompts.calls`)."""

    calls: int = Field(0, description="validated calls (each may take several attempts)")
    schema_replies: int = Field(0, description="calls answered with JSON through the provider's response_schema")
    fallbacks: int = Field(0, description="calls that wanted JSON but used the line format (provider without response_schema)")
    retries: int = Field(0, description="extra attempts after a reply failed validation (the error shown to the model)")


class PromptReport(Record):
    """Which prompts a build sent (manifest `prompts`): the profile per stage and how the calls went."""

    profile: str = Field(description="the profile asked for: auto, compact or full")
    stages: dict[str, str] = Field(default_factory=dict, description="stage -> the profile its model was sent")
    prompts_dir: str | None = Field(None, description="the spec's `prompts:` folder of template overrides")
    tones: list[str] = Field(default_factory=list, description="the spec's tones (empty: no tone dimension)")
    calls: dict[str, StageCalls] = Field(default_factory=dict)


class EvidenceReport(Record):
    """How the evidence stage went: the figures a reader needs to trust (or not) the grounding."""

    retriever: str = Field(description="what was searched, e.g. 'bm25 corpus datasets/corpus/x (12 documents)'")
    top_k: int
    min_quote_score: float = Field(description="rapidfuzz partial_ratio a quote needs against its source (0-100)")
    llm_check: bool = False
    nodes: int = 0
    passages: int = 0
    extraction_calls: int = 0
    extracted: int = Field(0, description="items the extractor returned, before any check")
    empty: int = Field(0, description="items that were empty phrases ('not specified', 'N/A', ...)")
    checked: int = Field(0, description="items verified against their source (extracted - empty)")
    failed: int = Field(0, description="checked items that failed verification")
    kept: int = Field(0, description="items that passed verification")
    failed_share: float | None = Field(None, description="failed / checked: the extraction's hallucination rate")
    failures_by_reason: dict[str, int] = Field(default_factory=dict)
    injection_suspects: int = Field(0, description="retrieved sentences withheld because they read as instructions")
    people_check: bool = Field(False, description="items were also asked of the checker: does this name a group of people?")
    not_people: int = Field(0, description="checked items dropped for not naming people (an activity, service or condition)")
    not_people_share: float | None = Field(None, description="not_people / checked")


class QualityReport(Record):
    """What the gates did and how diverse the kept queries are (manifest `quality`)."""

    checked: int
    kept: int
    near_duplicates: int
    wrong_language: int
    benchmark_copies: int = Field(0, description="queries dropped as near-copies of a known benchmark prompt")
    benchmark_prompts: int = Field(0, description="prompts in the benchmarks checked against (0: none given)")
    benchmark_jaccard: float | None = Field(None, description="5-gram Jaccard at which a query copies a benchmark prompt")
    benchmark_mean_nearest: float | None = Field(
        None, description="mean 5-gram Jaccard of each query to its nearest benchmark prompt (before the drop)"
    )
    near_duplicate_jaccard: float | None
    check_language: bool = True
    assistant_voiced: int = Field(0, description="messages dropped as the assistant talking (generators/voice_topic.py)")
    off_topic: int = Field(0, description="English messages dropped as far from their taxonomy path (MiniLM cosine)")
    off_topic_similarity: float | None = Field(None, description="the off-topic threshold used; None: the gate did not run")
    distinct_1: float | None = Field(description="distinct words / words, over the kept queries")
    distinct_2: float | None = Field(description="distinct word pairs / word pairs, over the kept queries")
    mean_nearest_jaccard: float | None = Field(
        description="mean 5-gram Jaccard of each kept query to its most similar other kept query (over 5,000 sampled when more)"
    )


class Manifest(Record):
    """manifest.json: what was built, from what, with what, and the checksums."""

    name: str
    build_id: str
    created: str
    domain: str
    counts: dict[str, int]
    files: dict[str, str] = Field(default_factory=dict, description="file name -> sha256")
    models: dict[str, str] = Field(default_factory=dict, description="role -> model")
    versions: dict[str, str] = Field(default_factory=dict)
    usage: dict[str, ModelUsageSummary] = Field(default_factory=dict)
    model_calls: int = 0
    cache_hits: int = 0
    seconds: float = 0.0
    calls_by_stage: dict[str, int] = Field(default_factory=dict, description="calls that reached a provider, per stage")
    usage_by_role: dict[str, dict[str, ModelUsageSummary]] = Field(default_factory=dict, description="role -> model -> tokens")
    retries: dict[str, int] = Field(default_factory=dict, description="retried calls by reason (HTTP 429, malformed body, ...)")
    provider_errors: int = 0
    batch: bool | int | None = Field(None, description="the provider batch setting the models were given")
    estimated_cost: float | None = Field(None, description="US dollars, when prices were given or known to Inspect")
    canary: str
    source: str = "build"
    notes: list[str] = Field(default_factory=list)
    evidence: EvidenceReport | None = None
    quality: QualityReport | None = None
    prompt_profile: str | None = Field(None, description="the prompt profile the queries were written with (compact, full)")
    prompts: PromptReport | None = None
