"""The ungrounded build's stages without barriers: each branch of the taxonomy moves on alone.

A staged build waits for the last L2 call before any L3 call, and for the last user-group call
before any query, so the connections idle while one slow call finishes. Here each L1 category
starts its topics and user groups as soon as it exists, each topic its terms as soon as it
exists, and the queries of a node as soon as the node and its category's groups exist. Every
call gets exactly the request it gets in the staged build (a call depends only on its own
parents), and the results are put back in the staged build's order (categories by country,
topics by category, terms by topic, queries by cell), so the dataset is identical.

A grounded build keeps the stages: evidence is retrieved for the whole taxonomy before user
groups are chosen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from inspect_ai.model import Model

from .quality import language_verdicts, warm_language_identifier
from .queries import QueryCell, query_cells, write_queries
from .records import QueryRecord, Reject, Taxonomy, TaxonomyNode, UserGroup
from .spec import DomainSpec
from .stage import StageResult
from .taxonomy import generate_categories, generate_topics
from .terms import expand_terms
from .user_groups import generate_user_groups


@dataclass
class Grown:
    """What the taxonomy, user-group and query stages produced, in the staged build's order."""

    taxonomy: Taxonomy
    categories: list[TaxonomyNode]
    groups: list[UserGroup]
    queries: StageResult[QueryRecord]  # not deduplicated
    rejects: list[Reject] = field(default_factory=list)  # l1, l2, l3, user groups (query rejects are in `queries`)
    cells: list[QueryCell] = field(default_factory=list)
    verdicts: dict[str, str | None] = field(default_factory=dict)  # the language gate's, computed as queries arrived


@dataclass
class _Branch:
    """One L1 category and everything grown under it."""

    category: TaxonomyNode
    topics: StageResult[TaxonomyNode] = field(default_factory=StageResult)
    terms: list[StageResult[TaxonomyNode]] = field(default_factory=list)
    groups: StageResult[UserGroup] = field(default_factory=StageResult)
    queries: list[StageResult[QueryRecord]] = field(default_factory=list)


def cell_key(node_id: object, group: object, language: object, modality: object) -> tuple[object, ...]:
    return (node_id, group, language, modality)


async def grow(
    spec: DomainSpec,
    generator: Model,
    terms_model: Model,
    *,
    origin: Literal["tag", "generated"],
    build_id: str,
    models_used: dict[str, str],
    stage: Callable[[str, int], Callable[[], None]],
    planned: dict[str, int],
    query_model: Model | None = None,
) -> Grown:
    """Grow the taxonomy, the user groups and the queries of an ungrounded build, pipelined.

    `stage(name, total)` opens a progress bar (totals are the plan's: a shortfall leaves a bar short).
    """
    countries = spec.countries or ["ALL"]
    advance = {name: stage(name, planned[name]) for name in ("L1 categories", "L2 topics", "L3 terms", "user groups")}
    advance["queries"] = stage("queries", planned["queries"])
    l2_cells = spec.size.depth2_queries or spec.size.l3_per_l2 == 0
    verdicts: dict[str, str | None] = {}
    # the language identifier loads in a thread while the first calls are in flight
    identifier = asyncio.create_task(asyncio.to_thread(warm_language_identifier)) if spec.quality.check_language else None

    async def write(taxonomy: Taxonomy, groups: list[UserGroup], nodes: list[TaxonomyNode]) -> StageResult[QueryRecord]:
        cells = query_cells(spec, taxonomy, groups, nodes=nodes)
        if not cells:
            return StageResult()
        written = await write_queries(
            spec, taxonomy, groups, query_model or generator, build_id=build_id, models_used=models_used, cells=cells,
            on_cell_done=advance["queries"],
        )
        if identifier is not None:
            await identifier
            verdicts.update(language_verdicts(written.items, spec.quality))
        return written

    async def topic_branch(branch: _Branch, i: int, groups: asyncio.Task[StageResult[UserGroup]]) -> None:
        topic = branch.topics.items[i]
        local = Taxonomy(domain=spec.domain, nodes=[branch.category, topic])
        branch.terms[i] = terms = await expand_terms(spec, [topic], local, terms_model, origin=origin)
        advance["L3 terms"]()
        local.nodes.extend(terms.items)
        branch.queries.append(await write(local, (await groups).items, terms.items))

    async def depth2(branch: _Branch, groups: asyncio.Task[StageResult[UserGroup]]) -> None:
        local = Taxonomy(domain=spec.domain, nodes=[branch.category, *branch.topics.items])
        branch.queries.append(await write(local, (await groups).items, branch.topics.items))

    async def category_branch(branch: _Branch) -> None:
        groups = asyncio.create_task(generate_user_groups(spec, [branch.category], generator))
        groups.add_done_callback(lambda _: advance["user groups"]())
        branch.topics = await generate_topics(spec, [branch.category], generator)
        advance["L2 topics"]()
        topics = range(len(branch.topics.items)) if spec.size.l3_per_l2 else range(0)
        branch.terms = [StageResult() for _ in topics]
        jobs = [topic_branch(branch, i, groups) for i in topics]
        await asyncio.gather(*jobs, *([depth2(branch, groups)] if l2_cells else []))
        branch.groups = await groups

    async def country_branch(country: str) -> tuple[StageResult[TaxonomyNode], list[_Branch]]:
        categories = await generate_categories(spec, generator, country)
        advance["L1 categories"]()
        branches = [_Branch(category) for category in categories.items]
        await asyncio.gather(*(category_branch(branch) for branch in branches))
        return categories, branches

    grown = await asyncio.gather(*(country_branch(country) for country in countries))
    branches = [branch for _, country_branches in grown for branch in country_branches]
    if not l2_cells and not any(terms.items for branch in branches for terms in branch.terms):
        # no L3 term anywhere: the staged build then writes the L2 cells instead (its rule, kept)
        for branch in branches:
            await depth2(branch, asyncio.create_task(_done(branch.groups)))
    assembled = _assemble(spec, grown)
    assembled.verdicts = verdicts
    return assembled


async def _done(result: StageResult[UserGroup]) -> StageResult[UserGroup]:
    return result


def _assemble(spec: DomainSpec, grown: list[tuple[StageResult[TaxonomyNode], list[_Branch]]]) -> Grown:
    taxonomy = Taxonomy(domain=spec.domain)
    rejects: list[Reject] = []
    branches = [branch for _, country_branches in grown for branch in country_branches]
    categories = [branch.category for branch in branches]
    taxonomy.nodes.extend(categories)
    for categories_result, _ in grown:
        rejects.extend(categories_result.rejects)
    for branch in branches:
        taxonomy.nodes.extend(branch.topics.items)
        rejects.extend(branch.topics.rejects)
    for branch in branches:
        for terms in branch.terms:
            taxonomy.nodes.extend(terms.items)
            rejects.extend(terms.rejects)
    groups: list[UserGroup] = []
    for branch in branches:
        groups.extend(branch.groups.items)
        rejects.extend(branch.groups.rejects)
    cells = query_cells(spec, taxonomy, groups)
    order = {cell_key(cell.node.id, cell.user_group.name, cell.language, cell.modality): i for i, cell in enumerate(cells)}
    records = [record for branch in branches for result in branch.queries for record in result.items]
    query_rejects = [reject for branch in branches for result in branch.queries for reject in result.rejects]
    records.sort(key=lambda r: order[cell_key(r.l3_id or r.l2_id or r.l1_id, r.user_group, r.language, r.modality)])
    query_rejects.sort(key=lambda r: order.get(cell_key(r.context.get("node_id"), r.context.get("user_group", ""),
                                                        r.context.get("language", ""), r.context.get("modality", "")),
                                               len(order)))
    return Grown(taxonomy=taxonomy, categories=categories, groups=groups,
                 queries=StageResult(items=records, rejects=query_rejects), rejects=rejects, cells=cells)

