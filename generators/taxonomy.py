"""The L1 and L2 levels of the taxonomy: categories of risk and the topics inside them."""

from __future__ import annotations

import asyncio

from inspect_ai.model import Model

from .profiles import prompts_for, spec_values
from .records import TaxonomyNode
from .spec import DomainSpec
from .stage import StageResult, generate_list


def country_clause(country: str) -> str:
    return "" if country == "ALL" else f" Country: {country}."


async def generate_categories(spec: DomainSpec, model: Model, country: str = "ALL") -> StageResult[TaxonomyNode]:
    """L1: the spec's `max_l1` risk categories for one country (ALL for no country)."""
    names, rejects = await generate_list(
        "l1",
        "l1_categories",
        model,
        {**spec_values(spec), "country_clause": country_clause(country)},
        want=spec.size.max_l1,
        avoid={spec.domain},
        context={"country": country},
        prompts=prompts_for(spec),
    )
    nodes = [
        TaxonomyNode(
            id=TaxonomyNode.make_id(spec.domain, 1, name, None, country),
            level=1,
            label=name,
            rationale=reason,
            country=country,
        )
        for name, reason in names
    ]
    return StageResult(items=nodes, rejects=rejects)


async def generate_topics(spec: DomainSpec, categories: list[TaxonomyNode], model: Model) -> StageResult[TaxonomyNode]:
    """L2: `max_l2_per_l1` topics under each L1 category, one call per category, concurrently."""

    async def topics_for(parent: TaxonomyNode) -> StageResult[TaxonomyNode]:
        names, rejects = await generate_list(
            "l2",
            "l2_topics",
            model,
            {
                **spec_values(spec),
                "country_clause": country_clause(parent.country),
                "l1": parent.label,
                "l1_rationale": parent.rationale,
            },
            want=spec.size.max_l2_per_l1,
            avoid={spec.domain, parent.label},
            context={"parent_id": parent.id, "l1": parent.label},
            prompts=prompts_for(spec),
        )
        return StageResult(
            items=[
                TaxonomyNode(
                    id=TaxonomyNode.make_id(spec.domain, 2, name, parent.id, parent.country),
                    level=2,
                    label=name,
                    parent_id=parent.id,
                    rationale=reason,
                    country=parent.country,
                )
                for name, reason in names
            ],
            rejects=rejects,
        )

    merged: StageResult[TaxonomyNode] = StageResult()
    for result in await asyncio.gather(*(topics_for(parent) for parent in categories)):
        merged.extend(result)
    return merged
