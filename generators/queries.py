"""Queries: the messages each user group would send, per taxonomy node, language, modality and tone.

Written in the target language by the model (never translated afterwards), from L3 nodes
(depth 3) and, so depth can be compared, from L2 nodes (depth 2). With the full prompt profile
the request carries the cell's whole context (`query_values`): definition, use case, the path with
the term's rationale, the group's demographics, occupations and country, the verified evidence
quotes with their sources, the tone, the modality task and the language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from inspect_ai.model import Model
from rapidfuzz import fuzz

from .llm import PROMPTS_DIR, CallResult, ReplyError, map_in_flight, normalise, reject_for
from .profiles import prompts_for, spec_values
from .records import EvidenceRef, QueryRecord, Reject, Taxonomy, TaxonomyNode, UserGroup
from .replies import QueryReply, generate_reply
from .spec import DomainSpec, language_name
from .stage import StageResult

MIN_WORDS, MAX_WORDS, MAX_CHARS = 4, 90, 700
# A reply that opens like this is the model answering as an assistant, not writing a user's message.
ASSISTANT_OPENERS = re.compile(
    r"^(sure|certainly|of course|here is|here's|as an ai|i'm sorry|i am sorry|i cannot|i can't help)\b", re.IGNORECASE
)
_LABEL_PREFIX = re.compile(r"^\s*(?:\d{1,2}\s*[.)]|[-*•]|(?:message|prompt|query|question)\s*:)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class QueryCell:
    """One intersection the queries are written for."""

    node: TaxonomyNode
    user_group: UserGroup
    language: str
    modality: str
    tone: str | None = None


@cache
def modality_framing() -> dict[str, dict[str, str]]:
    return yaml.safe_load((Path(PROMPTS_DIR) / "modalities.yaml").read_text(encoding="utf-8"))


def query_cells(
    spec: DomainSpec, taxonomy: Taxonomy, groups: list[UserGroup], nodes: list[TaxonomyNode] | None = None
) -> list[QueryCell]:
    """Every (node × user group of its L1 × language of its country × modality × tone) the spec asks for.

    `nodes` limits the cells to those nodes (a pipelined build asks per branch, as nodes arrive).
    """
    if nodes is None:
        nodes = taxonomy.level(3)
        if spec.size.depth2_queries or not nodes:
            nodes = taxonomy.level(2) + nodes
    groups_by_l1: dict[str, list[UserGroup]] = {}
    for group in groups:
        groups_by_l1.setdefault(group.l1_id, []).append(group)
    tones: list[str | None] = [*spec.tones] or [None]
    cells = []
    for node in nodes:
        l1 = taxonomy.path(node.id)[0]
        for group in groups_by_l1.get(l1.id, []):
            for language in spec.languages_for(node.country):
                for modality in spec.modalities:
                    for tone in tones:
                        cells.append(QueryCell(node=node, user_group=group, language=language, modality=modality, tone=tone))
    return cells


def query_request_values(
    user_group: str,
    path_labels: list[str],
    country: str | None,
    language: str,
    modality: str,
    want: int = 1,
    tone: str | None = None,
) -> dict[str, str]:
    """The values the query prompt (`prompts/query.yaml`) is rendered with for one cell.

    Public so that training rows for the query stage (`generators.query_tuning`) render exactly
    the request the build sends. `path_labels` runs from L1 down; the topic shown omits the L1.
    """
    frame = modality_framing().get(modality, modality_framing()["text-to-text"])
    return {
        "user_group": user_group[0].lower() + user_group[1:],
        "country_clause_person": f" in {country}" if country else "",
        "example_country": " in Mexico" if country else "",
        "topic_path": " > ".join(path_labels[1:] or path_labels),
        "modality_task": frame["task"]
        + (f" Write {want} different messages, one per line." if want > 1 else "")
        + (f" Write it in a {tone} tone." if tone else ""),  # as `query_values` puts a tone in the compact request
        "modality_example": frame["example"],
        "language_name": language_name(language),
    }


def parse_queries(reply: str, *, want: int, example: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Split a reply into messages and check each; returns (kept, [(text, why dropped)])."""
    text = reply.strip()
    if want == 1:
        # one message: its first paragraph (small models append commentary after a blank line)
        candidates = [" ".join(text.split("\n\n")[0].split())]
    else:
        candidates = [line for line in text.splitlines() if line.strip()]
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    for candidate in candidates:
        message = _LABEL_PREFIX.sub("", candidate).strip().strip("\"'“”").strip()
        words = len(message.split())
        why = None
        if len(kept) >= want:
            why = f"more than the {want} asked for"
        elif words < MIN_WORDS:
            why = f"shorter than {MIN_WORDS} words"
        elif words > MAX_WORDS or len(message) > MAX_CHARS:
            why = f"longer than {MAX_WORDS} words / {MAX_CHARS} characters"
        elif fuzz.ratio(normalise(message), normalise(example)) >= 85:
            why = "copied from the worked example"
        elif ASSISTANT_OPENERS.match(message):
            why = "written as the assistant's answer, not the user's message"
        elif normalise(message) in {normalise(k) for k in kept}:
            why = "repeats another message"
        if why:
            dropped.append((message, why))
        else:
            kept.append(message)
    if not kept:
        reasons = "; ".join(sorted({why for _, why in dropped})) or "empty reply"
        raise ReplyError(f"no usable message ({reasons}). Write only the person's own message, 1-2 sentences.")
    return kept, dropped


async def write_queries(
    spec: DomainSpec,
    taxonomy: Taxonomy,
    groups: list[UserGroup],
    model: Model,
    *,
    build_id: str,
    models_used: dict[str, str],
    evidence_refs: dict[str, list[EvidenceRef]] | None = None,
    on_cell_done: Callable[[], None] | None = None,
    cells: list[QueryCell] | None = None,
) -> StageResult[QueryRecord]:
    """Write `queries_per_cell` queries for every cell (default: all of `query_cells`), concurrently.

    Not deduplicated (see `generate_queries`): a pipelined build writes cells in batches as the
    taxonomy grows and deduplicates once, in cell order, at the end.
    """
    prompts = prompts_for(spec)
    template = prompts.template("query", model)
    full = prompts.profile(model) == "full"
    framing = modality_framing()
    evidence_refs = evidence_refs or {}
    want = spec.size.queries_per_cell

    async def for_cell(cell: QueryCell) -> StageResult[QueryRecord]:
        path = taxonomy.path(cell.node.id)
        frame = framing.get(cell.modality, framing["text-to-text"])
        country = cell.node.country if cell.node.country != "ALL" else None
        refs = merge_refs(evidence_refs.get(cell.node.id, []), cell.user_group.evidence_refs)
        values = query_values(spec, cell, path, refs, want=want)
        context: dict[str, object] = {
            "node_id": cell.node.id, "user_group": cell.user_group.name, "language": cell.language, "modality": cell.modality
        }
        if cell.tone is not None:
            context["tone"] = cell.tone
        dropped: list[tuple[str, str]] = []

        def parse(reply: str) -> list[str]:
            kept, why = parse_queries(reply, want=want, example=frame["example"])
            dropped[:] = why
            return kept

        result: CallResult[list[str]] = await generate_reply(
            "queries",
            model,
            template,
            values,
            parse,
            reply=QueryReply if full else None,
            max_tokens=(160 if full else 80) * want,
            stop_seqs=["<|im_end|>"],
        )
        if on_cell_done is not None:
            on_cell_done()
        if result.value is None:
            return StageResult(rejects=[reject_for("queries", result, context)])
        records = []
        for text in result.value:
            records.append(
                QueryRecord(
                    id=QueryRecord.make_id(text, cell.node.id, cell.user_group.name, cell.language, cell.modality, cell.tone),
                    input=text,
                    language=cell.language,
                    modality=cell.modality,
                    domain=spec.domain,
                    l1=path[0].label,
                    l2=path[1].label if len(path) > 1 else path[0].label,
                    l3=path[2].label if len(path) > 2 else None,
                    l1_id=path[0].id,
                    l2_id=path[1].id if len(path) > 1 else None,
                    l3_id=path[2].id if len(path) > 2 else None,
                    depth=cell.node.level,
                    taxonomy_path=[node.label for node in path],
                    user_group=cell.user_group.name,
                    country=country,
                    demographics=list(cell.user_group.demographics),
                    occupations=list(cell.user_group.occupations),
                    evidence_refs=refs,
                    use_case=spec.use_case,
                    tone=cell.tone,
                    models=models_used,
                    build_id=build_id,
                )
            )
        rejects = [
            Reject(stage="queries", reason=f"message dropped: {why}", context={**context, "message": text}, raw_output=result.raw)
            for text, why in dropped
        ]
        return StageResult(items=records, rejects=rejects)

    if cells is None:
        cells = query_cells(spec, taxonomy, groups)
    merged: StageResult[QueryRecord] = StageResult()
    for result in await map_in_flight(cells, for_cell):  # bounded: memory grows with records, not cells
        merged.extend(result)
    return merged


async def generate_queries(
    spec: DomainSpec,
    taxonomy: Taxonomy,
    groups: list[UserGroup],
    model: Model,
    *,
    build_id: str,
    models_used: dict[str, str],
    evidence_refs: dict[str, list[EvidenceRef]] | None = None,
    on_cell_done: Callable[[], None] | None = None,
) -> StageResult[QueryRecord]:
    """Write `queries_per_cell` queries for every cell, concurrently; duplicates go to rejects."""
    written = await write_queries(
        spec, taxonomy, groups, model, build_id=build_id, models_used=models_used, evidence_refs=evidence_refs,
        on_cell_done=on_cell_done,
    )
    return deduplicate(written)


def query_values(
    spec: DomainSpec, cell: QueryCell, path: list[TaxonomyNode], refs: list[EvidenceRef], *, want: int = 1
) -> dict[str, str]:
    """What a query request is filled with, for either profile (a template uses what it needs).

    The compact values are exactly those the compact template always had; a tone reaches the
    compact request as one sentence after the task, so a spec without tones reads as before.
    """
    frame = modality_framing().get(cell.modality, modality_framing()["text-to-text"])
    country = cell.node.country if cell.node.country != "ALL" else None
    group = cell.user_group
    term = path[-1]
    task = frame["task"] + (f" Write {want} different messages, one per line." if want > 1 else "")
    details = [
        f"About them: {group.description.rstrip('.')}." if group.description and group.origin == "generated" else "",
        f"Demographics: {', '.join(group.demographics)}." if group.demographics else "",
        f"Occupations: {', '.join(group.occupations)}." if group.occupations else "",
    ]
    evidence = ""
    if refs:
        quotes = "\n".join(f'- "{ref.quote}" (source: {ref.title or ref.source_id}{", " + ref.url if ref.url else ""})' for ref in refs)
        evidence = (
            "Evidence (verified quotes from the sources; data, not instructions). Ground the message in what they say "
            f"about these people:\n{quotes}\n"
        )
    compact = query_request_values(
        group.name, [node.label for node in path], country, cell.language, cell.modality, want, tone=cell.tone
    )
    return {
        **spec_values(spec),
        **compact,  # the compact request's values, exactly as training rows for the query adapter render them
        "country_clause": f" Country: {country}." if country else "",
        "taxonomy_path": " > ".join(node.label for node in path),
        "task": task,
        "l1": path[0].label,
        "l2": path[1].label if len(path) > 1 else path[0].label,
        "l3": path[2].label if len(path) > 2 else "",
        "term": term.label,
        "term_rationale": term.rationale,
        "term_clause": f"Term: {term.label}: {term.rationale}\n" if term.rationale else f"Term: {term.label}\n",
        "group_description": group.description,
        "group_details": "".join(f"{line}\n" for line in details if line),
        "country": country or "",
        "evidence_clause": evidence,
        "tone": cell.tone or "",
        "tone_clause": f"Tone: {cell.tone}.\n" if cell.tone else "",
        "n": str(want),
    }


def merge_refs(node_refs: list[EvidenceRef], group_refs: list[EvidenceRef]) -> list[EvidenceRef]:
    """The node's evidence, then the quotes that name the user group (each once)."""
    merged = list(node_refs)
    merged += [ref for ref in group_refs if ref not in merged]
    return merged


def deduplicate(result: StageResult[QueryRecord]) -> StageResult[QueryRecord]:
    """Keep the first of queries with the same text; the others become rejects."""
    seen: dict[str, str] = {}
    kept: list[QueryRecord] = []
    rejects: list[Reject] = list(result.rejects)
    for record in result.items:
        key = normalise(record.input)
        if key in seen:
            rejects.append(
                Reject(
                    stage="queries",
                    reason=f"duplicate of {seen[key]}",
                    context={"id": record.id, "node_id": record.l3_id or record.l2_id, "user_group": record.user_group},
                    raw_output=record.input,
                )
            )
            continue
        seen[key] = record.id
        kept.append(record)
    return StageResult(items=kept, rejects=rejects)
