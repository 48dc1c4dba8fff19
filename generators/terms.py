"""L3: the specific terms inside each L2 topic.

This is the stage the fine-tuned taxonomy generator (TaG) serves: any model passed here (the
generator by default, or a `tag` model such as a LoRA-tuned `nodesynth/...`) answers the same
prompt, and nodes record origin "tag" when a dedicated TaG model wrote them.
"""

from __future__ import annotations

import asyncio

from inspect_ai.model import Model

from .profiles import prompts_for, spec_values
from .records import NodeOrigin, Taxonomy, TaxonomyNode
from .spec import DomainSpec
from .stage import StageResult, generate_list
from .taxonomy import country_clause

TEMPLATE = "l3_terms"

# Names the request uses for the languages the TaG is trained on; others fall back to pycountry.
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "pt": "Portuguese", "id": "Indonesian", "hi": "Hindi", "fr": "French"}


def language_name(code: str) -> str:
    """The English name of an ISO 639-1 code ("es" -> "Spanish"); the code itself if unknown."""
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    import pycountry

    found = pycountry.languages.get(alpha_2=code)
    return found.name if found is not None else code


def language_clause(language: str) -> str:
    """Empty for English, so English requests read exactly as they did before the TaG existed."""
    return "" if language == "en" else f" Language: {language_name(language)}."


def term_request_values(domain: str, l1: str, l2: str, country: str = "ALL", language: str = "en") -> dict[str, str]:
    """The values the L3 prompt is rendered with: the one place both the build and the TaG's
    training data get them, so the TaG learns exactly the request the build sends."""
    return {
        "domain": domain,
        "country_clause": country_clause(country),
        "language_clause": language_clause(language),
        "l1": l1,
        "l2": l2,
    }


async def expand_terms(
    spec: DomainSpec,
    topics: list[TaxonomyNode],
    taxonomy: Taxonomy,
    model: Model,
    origin: NodeOrigin = "generated",
    language: str = "en",
) -> StageResult[TaxonomyNode]:
    """`l3_per_l2` terms for each L2 topic, one call per topic, concurrently.

    `language` is the language the terms are asked in (the taxonomy is English by default).
    """
    index = taxonomy.by_id()

    async def terms_for(topic: TaxonomyNode) -> StageResult[TaxonomyNode]:
        category = index[topic.parent_id] if topic.parent_id else topic
        names, rejects = await generate_list(
            "l3",
            TEMPLATE,
            model,
            {
                **spec_values(spec),
                "l2_rationale": topic.rationale,
                **term_request_values(spec.domain, category.label, topic.label, topic.country, language),
            },
            want=spec.size.l3_per_l2,
            avoid={spec.domain, category.label, topic.label},
            context={"parent_id": topic.id, "l2": topic.label},
            prompts=prompts_for(spec),
        )
        return StageResult(
            items=[
                TaxonomyNode(
                    id=TaxonomyNode.make_id(spec.domain, 3, name, topic.id, topic.country),
                    level=3,
                    label=name,
                    parent_id=topic.id,
                    rationale=reason,
                    origin=origin,
                    country=topic.country,
                    language=language,
                )
                for name, reason in names
            ],
            rejects=rejects,
        )

    merged: StageResult[TaxonomyNode] = StageResult()
    if spec.size.l3_per_l2 == 0:
        return merged
    for result in await asyncio.gather(*(terms_for(topic) for topic in topics)):
        merged.extend(result)
    return merged
