"""One release row to one query (or a reject with its reason): the importer's `record_to_query`.

Like Inspect's `record_to_sample`, it reads one row; unlike it, rows are not independent (a
taxonomy node keeps the first spelling seen, a repeated query is a duplicate of an earlier row,
evidence gathers over rows), so what the rows read so far leave behind is an explicit
`ImportState`, also holding what the manifest notes report (cells read as text, labels cleaned).

A row whose prompt is not a query (empty, a stray markdown rule, a model preamble, a metadata
cell pasted into the prompt column) becomes a reject, as does a duplicate query, so
`queries + rejects == rows` always holds: nothing disappears silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...records import QueryRecord, Reject, TaxonomyNode
from .cells import (
    WORD,
    clean_label,
    clean_list,
    dedupe,
    is_placeholder,
    l3_terms,
    most_frequent,
    normalise_modality,
    parse_list_cell,
    squash,
)
from .evidence import EvidenceBook, cited_sources, evidence_refs
from .model_text import paper_countries_text, recover_quotes, recover_titles, recover_urls
from .release import LANGUAGE, MODELS, ReleaseRow

STAGE = "import"
L3_RATIONALE = "keyterm set as released: the queries were generated from these terms together"
# the cells a pasted-in prompt may repeat (see _prompt_problem)
METADATA_COLUMNS = (
    "paper_content", "extracted_occupations", "extracted_Demographics", "extracted_Country", "user_group", "level1", "level2", "level3"
)


@dataclass
class Fallback:
    """A cell not read as the release intended (e.g. a list cell that is not a list literal)."""

    column: str
    row: int | str
    what: str


@dataclass
class ImportState:
    """What the rows read so far leave for the next row, the taxonomy, the evidence and the manifest."""

    domain: str
    build_id: str
    nodes: dict[str, TaxonomyNode] = field(default_factory=dict)
    evidence: EvidenceBook = field(default_factory=EvidenceBook)
    first_row_of: dict[str, int | str] = field(default_factory=dict)
    fallbacks: list[Fallback] = field(default_factory=list)
    label_changes: dict[tuple[str, str], str] = field(default_factory=dict)
    countries: list[str] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)
    use_cases: list[str] = field(default_factory=list)
    mismatches: list[int | str] = field(default_factory=list)
    """Rows whose extracted_Country names none of the countries their own paper_content states."""

    def node(self, level: int, text: str, parent: str | None, rationale: str = "") -> TaxonomyNode:
        node_id = TaxonomyNode.make_id(self.domain, level, text, parent, "ALL")
        if node_id not in self.nodes:  # ids casefold the label: the first spelling seen is kept
            self.nodes[node_id] = TaxonomyNode(
                id=node_id, level=level, label=text, parent_id=parent, rationale=rationale, origin="imported", language=LANGUAGE
            )
        return self.nodes[node_id]

    def label(self, column: str, raw: str) -> str:
        cleaned = clean_label(raw)
        if cleaned != squash(raw) and cleaned:
            self.label_changes[(column, squash(raw))] = cleaned
        return cleaned

    def listed(self, row: ReleaseRow, column: str) -> list[str]:
        items, fallback = parse_list_cell(row.cells[column])
        if fallback:
            self.fallbacks.append(Fallback(column, row.label, fallback))
        return items


def record_to_query(row: ReleaseRow, state: ImportState) -> QueryRecord | Reject:
    """The query one release row holds, placed in the taxonomy; or a reject saying why it is not one."""
    prompt = row.cells["prompts"].strip()
    problem = _prompt_problem(prompt, " ".join(row.cells[column] for column in METADATA_COLUMNS))
    if problem is not None:
        return _reject(row, *problem, prompt=prompt)
    placed = _place(row, state)
    if isinstance(placed, Reject):
        return placed
    l1, l2, l3 = placed
    leaf = l3 or l2
    occupations = dedupe(clean_list(state.listed(row, "extracted_occupations")))
    demographics = dedupe(clean_list(state.listed(row, "extracted_Demographics")))
    countries_listed = clean_list(state.listed(row, "extracted_Country"))  # repeats kept: they decide the country
    countries = dedupe(countries_listed)
    state.countries.extend(countries)
    fragments = state.listed(row, "paper_content")
    stated = paper_countries_text(fragments)
    if stated and countries and not any(c.casefold() in stated for c in countries):
        # kept as released, but flagged: e.g. the medical file's Ghana paper rows carry the
        # country list of the neighbouring pan-European survey
        state.mismatches.append(row.label)
    described = _describe(row, state)
    titles = recover_titles(fragments)
    sources = cited_sources(recover_urls(clean_list(state.listed(row, "url"))), titles)
    refs, quote = evidence_refs(sources, recover_quotes(fragments))

    query_id = QueryRecord.make_id(prompt, leaf.id, described.user_group, LANGUAGE, described.modality)
    if query_id in state.first_row_of:
        first = state.first_row_of[query_id]
        return _reject(
            row,
            "duplicate",
            f"duplicate query: same text, node, user group, language and modality as row {first}",
            id=query_id,
            duplicate_of_row=first,
            prompt=prompt,
        )
    state.first_row_of[query_id] = row.label
    state.evidence.add(leaf.id, sources, quote, occupations, demographics, countries)
    return QueryRecord(
        id=query_id,
        input=prompt,
        language=LANGUAGE,
        modality=described.modality,
        domain=state.domain,
        l1=l1.label,
        l2=l2.label,
        l3=l3.label if l3 else None,
        l1_id=l1.id,
        l2_id=l2.id,
        l3_id=l3.id if l3 else None,
        depth=3 if l3 else 2,
        taxonomy_path=[l1.label, l2.label, *([l3.label] if l3 else [])],
        user_group=described.user_group,
        country=most_frequent(countries_listed),
        demographics=demographics,
        occupations=occupations,
        evidence_refs=refs,
        use_case=described.use_case,
        tone=described.tone,
        models=dict(MODELS),
        build_id=state.build_id,
    )


def _reject(row: ReleaseRow, code: str, reason: str, **context: Any) -> Reject:
    return Reject(stage=STAGE, reason=reason, context={"row": row.label, "code": code, **context})


def _prompt_problem(prompt: str, metadata: str) -> tuple[str, str] | None:
    """Why a prompt cell is not a query, as (code, reason), or None when it is one."""
    if not prompt:
        return "empty_prompt", "empty prompt"
    words = {word.casefold() for word in WORD.findall(prompt)}
    if not words:
        return "no_words", "prompt has no words (e.g. a stray markdown rule)"
    if prompt.endswith(":"):
        # the generator's preamble ("... the keyterms are:") exported as if it were a query
        return "model_preamble", "prompt is a model preamble ending in ':', not a query"
    if words <= {word.casefold() for word in WORD.findall(metadata)}:
        # every word already appears in the row's own metadata: a pasted occupation, demographic
        # or country cell ("Patients", "37 European countries, ...") rather than a query
        return "metadata_fragment", "prompt only repeats the row's metadata cells, not a query"
    return None


def _place(row: ReleaseRow, state: ImportState) -> tuple[TaxonomyNode, TaxonomyNode, TaxonomyNode | None] | Reject:
    """The row's L1, L2 and (when its level3 cell is a keyterm set) L3 nodes; a reject without L1 or L2."""
    l1_label = state.label("level1", row.cells["level1"])
    l2_label = state.label("level2", row.cells["level2"])
    l1_label = "" if is_placeholder(l1_label) else l1_label
    l2_label = "" if is_placeholder(l2_label) else l2_label
    if not l1_label or not l2_label:
        missing = "level1" if not l1_label else "level2"
        prompt = row.cells["prompts"].strip()
        return _reject(row, f"no_{missing}", f"no {missing} label: the query cannot be placed in the taxonomy", prompt=prompt)
    raw_l3 = row.cells["level3"]
    terms, l3_problem = l3_terms(raw_l3)
    if l3_problem:
        state.fallbacks.append(Fallback("level3", row.label, l3_problem))
    l3_label = ", ".join(terms) or None
    if l3_label and l3_label != squash(raw_l3):
        state.label_changes[("level3", squash(raw_l3))] = l3_label
    l1 = state.node(1, l1_label, None)
    l2 = state.node(2, l2_label, l1.id)
    l3 = state.node(3, l3_label, l2.id, L3_RATIONALE) if l3_label else None
    return l1, l2, l3


@dataclass(frozen=True)
class _Described:
    modality: str
    user_group: str | None
    use_case: str | None
    tone: str | None


def _describe(row: ReleaseRow, state: ImportState) -> _Described:
    """The row's modality, user group, use case and tone, cleaned; placeholders are None."""
    modality, modality_problem = normalise_modality(row.cells["model_modality"])
    if modality_problem:
        state.fallbacks.append(Fallback("model_modality", row.label, modality_problem))
    state.modalities.append(modality)
    user_group = state.label("user_group", row.cells["user_group"]) or None
    if user_group and is_placeholder(user_group):
        user_group = None
    written = squash(row.cells["user_case"])
    use_case = (written[:1].upper() + written[1:]) if written and not is_placeholder(written) else None
    if use_case:  # "Advice seeking" and "advice seeking" are one use case
        state.use_cases.append(use_case)
    tone = squash(row.cells["tone"]).casefold() or None
    if tone and is_placeholder(tone):
        tone = None
    return _Described(modality=modality, user_group=user_group, use_case=use_case, tone=tone)
