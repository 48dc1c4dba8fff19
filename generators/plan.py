"""A build's plan before it spends: query cells, model calls per stage, tokens and cost.

The query count is a product of eight spec fields, so it is computed here from the spec alone,
with no model call and no file written. Every stage makes one call per parent record (L1 per
country, L2 and user groups per L1, L3 per L2, evidence per L2, a query per cell), so the calls
follow from the sizes; a stage that keeps fewer items than asked shrinks the later stages, so
the plan is an upper estimate for a model that answers in full. Tokens are estimated from the
rendered prompt templates (about four characters a token) and the length a reply is asked for.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from pydantic import BaseModel, Field

from .llm import PromptTemplate
from .spec import DomainSpec

CHARS_PER_TOKEN = 4.0
TOKENS_PER_ITEM = 14  # one 'name: reason' line
TOKENS_PER_QUERY = 40  # one user message of one or two sentences
TEMPLATES = {"l1": "l1_categories", "l2": "l2_topics", "l3": "l3_terms", "user_groups": "user_groups", "queries": "query"}
STAGE_ROLES = {"l1": "generator", "l2": "generator", "l3": "tag", "user_groups": "generator", "queries": "generator",
               "evidence": "extractor"}
TYPICAL_VALUE = "a typical value of twenty-four"  # what an unknown template field renders as


class Prices(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


def known_prices(model: str, price_in: float | None = None, price_out: float | None = None) -> Prices | None:
    """The given prices, else Inspect's model database's, else None."""
    if price_in is not None or price_out is not None:
        return Prices(input=price_in or 0.0, output=price_out or 0.0)
    from inspect_ai.model import get_model_info

    try:
        info = get_model_info(model)
    except Exception:  # an unknown provider or model: no price known
        return None
    if info is None or info.cost is None:
        return None
    return Prices(input=info.cost.input, output=info.cost.output)


class StagePlan(BaseModel):
    calls: int
    input_tokens: int
    output_tokens: int


class BuildPlan(BaseModel):
    """What `nodesynth build --dry-run` prints."""

    name: str
    cells: int
    queries: int
    model_calls: int
    tokens: dict[str, int]
    stages: dict[str, StagePlan]
    prices: Prices | None = None
    cost: float | None = None
    notes: list[str] = Field(default_factory=list)


class _Typical(dict[str, object]):
    def __missing__(self, key: str) -> object:
        return TYPICAL_VALUE


def prompt_tokens(template_name: str, values: Mapping[str, object]) -> int:
    """Input tokens of one request of a template (system, worked examples and request)."""
    template = PromptTemplate.load(template_name)
    fields = _Typical(values)
    parts = [template.system, template.request]
    for request, reply in template._pairs():
        parts += [request, reply]
    chars = sum(len(string.Formatter().vformat(part, (), fields)) for part in parts)
    return int(chars / CHARS_PER_TOKEN) + 4 * (len(parts) + 1)  # a few tokens of chat framing per message


def plan_build(spec: DomainSpec, *, grounded: bool = False, prices: Prices | None = None) -> BuildPlan:
    """The plan of building `spec` (a model that answers every request in full, first time)."""
    size = spec.size
    countries = spec.countries or ["ALL"]
    l1 = len(countries) * size.max_l1
    l2 = l1 * size.max_l2_per_l1
    depth_nodes_per_country = size.max_l1 * size.max_l2_per_l1 * (
        size.l3_per_l2 + (1 if size.depth2_queries or size.l3_per_l2 == 0 else 0)
    )
    cells = sum(
        depth_nodes_per_country * size.user_groups_per_l1 * len(spec.languages_for(country)) * len(spec.modalities)
        for country in countries
    )
    common = {"domain": spec.domain, "definition": spec.definition, "n": 0}
    want = {"l1": size.max_l1, "l2": size.max_l2_per_l1, "l3": size.l3_per_l2, "user_groups": size.user_groups_per_l1}
    calls = {"l1": len(countries), "l2": l1, "l3": l2 if size.l3_per_l2 else 0, "user_groups": l1, "queries": cells}
    stages: dict[str, StagePlan] = {}
    for stage, count in calls.items():
        values = {**common, "n": want.get(stage, size.queries_per_cell)}
        reply = TOKENS_PER_QUERY * size.queries_per_cell if stage == "queries" else TOKENS_PER_ITEM * want[stage]
        stages[stage] = StagePlan(calls=count, input_tokens=count * prompt_tokens(TEMPLATES[stage], values),
                                  output_tokens=count * reply)
    notes = []
    if grounded:
        evidence = spec.evidence
        per_node = 1 + ((evidence.top_k * 2) if evidence is not None and evidence.verify.llm else 0)
        nodes = l2 or l1
        stages["evidence"] = StagePlan(calls=nodes * per_node, input_tokens=nodes * per_node * 1200,
                                       output_tokens=nodes * (300 + per_node))
        notes.append("evidence calls and tokens are rough: they depend on the corpus and what the extractor finds")
    input_tokens = sum(plan.input_tokens for plan in stages.values())
    output_tokens = sum(plan.output_tokens for plan in stages.values())
    return BuildPlan(
        name=spec.name,
        cells=cells,
        queries=cells * size.queries_per_cell,
        model_calls=sum(plan.calls for plan in stages.values()),
        tokens={"input": input_tokens, "output": output_tokens, "total": input_tokens + output_tokens},
        stages=stages,
        prices=prices,
        cost=prices.cost(input_tokens, output_tokens) if prices is not None else None,
        notes=notes,
    )
