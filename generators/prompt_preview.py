"""What each build stage will ask its model, rendered for one example cell, with no model call.

`nodesynth prompts SPEC` prints these, so a researcher sees exactly the system message, worked
examples and request a stage sends (with the spec's prompt profile and `prompts:` overrides)
before paying for a build. The example cell is the spec's own where it can be (domain,
definition, examples, use case, first country, language, modality and tone) and a marked
placeholder (`<L3 term>`) where the value only exists once earlier stages have run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from inspect_ai.model import ChatMessage

from .evidence.corpus import Passage
from .evidence.untrusted import fence
from .profiles import STAGES, Profile, ProfileChoice, PromptError, Prompts, prompts_for, spec_values
from .queries import QueryCell, query_values
from .records import EvidenceRef, Source, TaxonomyNode, UserGroup
from .replies import ExtractionReply, ListReply, QueryReply, Reply, SupportReply, render, supports_schema
from .spec import DomainSpec
from .taxonomy import country_clause
from .terms import language_clause

# The build's stage names (rejects, manifest) -> template names, so either may be asked for.
STAGE_ALIASES = {"l1": "l1_categories", "l2": "l2_topics", "l3": "l3_terms", "evidence": "evidence_extract", "queries": "query"}
REPLIES: dict[str, type[Reply]] = {
    "l1_categories": ListReply, "l2_topics": ListReply, "l3_terms": ListReply, "user_groups": ListReply,
    "evidence_extract": ExtractionReply, "evidence_support": SupportReply, "query": QueryReply,
}


@dataclass
class RenderedPrompt:
    """One stage's request as its model would receive it."""

    stage: str
    path: str
    profile: Profile
    structured: bool
    messages: list[ChatMessage]

    def text(self) -> str:
        mode = f"JSON through response_schema {REPLIES[self.stage].schema_name}" if self.structured else "line format"
        lines = [f"=== {self.stage} · {self.profile} profile · {mode} · {self.path} ==="]
        examples = (len(self.messages) - 2) // 2
        for i, message in enumerate(self.messages):
            if i == 0:
                label = "system"
            elif i == len(self.messages) - 1:
                label = "request"
            else:
                label = f"worked example {(i + 1) // 2} of {examples}: {message.role}"
            lines += [f"--- {label} ---", message.text]
        return "\n".join(lines)


def preview(
    spec: DomainSpec,
    model: str,
    *,
    stage: str | None = None,
    profile: ProfileChoice | None = None,
    grounded: bool | None = None,
) -> list[RenderedPrompt]:
    """The rendered request of every stage (or `stage`) for `model` (a model name; nothing is called).

    `grounded` shows the evidence stages and a grounded query cell (default: if the spec has `evidence:`).
    """
    grounded = spec.evidence is not None if grounded is None else grounded
    prompts = prompts_for(spec)
    if profile is not None:
        prompts = Prompts(choice=profile, directory=prompts.directory)
    names = [n for n in STAGES if grounded or not n.startswith("evidence")]
    if stage is not None:
        wanted = STAGE_ALIASES.get(stage, stage)
        if wanted not in STAGES:
            raise PromptError(f"unknown stage {stage!r} (one of {', '.join([*STAGES, *STAGE_ALIASES])}).")
        names = [wanted]
    values = example_values(spec, grounded)
    rendered = []
    for name in names:
        chosen = prompts.profile(model)
        compact_extractor = name == "evidence_extract" and chosen == "compact" and model.startswith("nodesynth/")
        template = prompts.template(name, model, shipped_name="evidence_extract_compact" if compact_extractor else None)
        structured = chosen == "full" and supports_schema(model)
        rendered.append(
            RenderedPrompt(
                stage=name,
                path=_shown(prompts.path(name, chosen)),
                profile=chosen,
                structured=structured,
                messages=render(template, values[name], REPLIES[name] if chosen == "full" else None, structured=structured),
            )
        )
    return rendered


def _shown(path: Path) -> str:
    """A template's path as a user reads it: relative to the cwd when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def example_values(spec: DomainSpec, grounded: bool) -> dict[str, dict[str, object]]:
    """The values each stage's template is filled with for the example cell (its first named country)."""
    country = next((c for c in spec.countries if c != "ALL"), "ALL")
    language = spec.languages_for(country)[0]
    base = {**spec_values(spec), "country_clause": country_clause(country)}
    l1_label = spec.examples[0][0].upper() + spec.examples[0][1:] if spec.examples else "<L1 category>"
    l1 = TaxonomyNode(id="L1-example", level=1, label=l1_label, rationale="<why the category matters>", country=country)
    l2 = TaxonomyNode(id="L2-example", level=2, label="<L2 topic>", parent_id=l1.id, rationale="<why the topic matters>", country=country)
    l3 = TaxonomyNode(id="L3-example", level=3, label="<L3 term>", parent_id=l2.id, rationale="<why the term matters>", country=country)
    group = UserGroup(
        id="g-example",
        l1_id=l1.id,
        name="<user group>",
        description="<why they ask>",
        demographics=["<demographic named in the evidence>"] if grounded else [],
        occupations=["<occupation named in the evidence>"] if grounded else [],
        country=country,
        origin="evidence" if grounded else "generated",
    )
    refs = [EvidenceRef(source_id="s-example", title="<source title>", url="<source url>", quote="<verified quote>")] if grounded else []
    cell = QueryCell(node=l3, user_group=group, language=language, modality=spec.modalities[0], tone=spec.tones[0] if spec.tones else None)
    passage = Passage(id="p-example", source=Source(id="s-example", title="<source title>"), text="<retrieved passage text>")
    return {
        "l1_categories": {**base, "n": spec.size.max_l1},
        "l2_topics": {**base, "l1": l1.label, "l1_rationale": l1.rationale, "n": spec.size.max_l2_per_l1},
        "l3_terms": {
            **base, "language_clause": language_clause("en"), "l1": l1.label, "l2": l2.label, "l2_rationale": l2.rationale,
            "n": spec.size.l3_per_l2,
        },
        "user_groups": {**base, "l1": l1.label, "l1_rationale": l1.rationale, "n": spec.size.user_groups_per_l1},
        "evidence_extract": {**base, "topic_path": f"{l2.label} ({l3.label})", "passages": fence("P1", passage)},
        "evidence_support": {"quote": "<verified quote>", "kind": "demographic", "item": "<demographic>"},
        "query": dict(query_values(spec, cell, [l1, l2, l3], refs, want=spec.size.queries_per_cell)),
    }
