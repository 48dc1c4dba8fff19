"""User groups: who would ask an AI system about each L1 category."""

from __future__ import annotations

import asyncio

from inspect_ai.model import Model

from .profiles import prompts_for, spec_values
from .records import TaxonomyNode, UserGroup, content_id
from .spec import DomainSpec
from .stage import StageResult, generate_list
from .taxonomy import country_clause


async def generate_user_groups(spec: DomainSpec, categories: list[TaxonomyNode], model: Model) -> StageResult[UserGroup]:
    """`user_groups_per_l1` groups for each L1 category, one call per category, concurrently."""

    async def groups_for(category: TaxonomyNode) -> StageResult[UserGroup]:
        names, rejects = await generate_list(
            "user_groups",
            "user_groups",
            model,
            {
                **spec_values(spec),
                "country_clause": country_clause(category.country),
                "l1": category.label,
                "l1_rationale": category.rationale,
            },
            want=spec.size.user_groups_per_l1,
            avoid={spec.domain, category.label},
            context={"l1_id": category.id, "l1": category.label},
            prompts=prompts_for(spec),
        )
        return StageResult(
            items=[
                UserGroup(
                    id="g-" + content_id(category.id, name.casefold(), length=10),
                    l1_id=category.id,
                    name=name,
                    description=reason,
                    country=category.country,
                )
                for name, reason in names
            ],
            rejects=rejects,
        )

    merged: StageResult[UserGroup] = StageResult()
    for result in await asyncio.gather(*(groups_for(category) for category in categories)):
        merged.extend(result)
    return merged
