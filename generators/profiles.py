"""Prompt profiles: which template file each build stage sends, and the checks made before any call.

Two profiles ship. `compact` (generators/prompts/*.yaml) is shaped for the embedded 135M model:
short requests with worked examples, which a small model follows and cannot use more than.
`full` (generators/prompts/full/*.yaml) gives a capable model the context that makes queries
socially grounded: the definition, examples and use case, the L3 term's rationale, the user
group's demographics, occupations and country, the verified evidence quotes and the tone.
`auto` picks compact for the embedded `nodesynth/...` models and full for every other, per stage
(the L3 stage's model may be the embedded TaG while the generator is a capable model).

A spec's `prompts: DIR` overrides templates: `DIR/<profile>/<stage>.yaml`, else `DIR/<stage>.yaml`
(for the profile in use), else the shipped file. Every template a build will send is checked
first: a variable the stage does not provide, or a missing one it needs, is a PromptError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from nodesynth_common.errors import NodeSynthError

from .llm import PROMPTS_DIR, PromptTemplate

if TYPE_CHECKING:
    from inspect_ai.model import Model

    from .spec import DomainSpec

Profile = Literal["compact", "full"]
ProfileChoice = Literal["auto", "compact", "full"]
PROFILES: tuple[Profile, ...] = ("compact", "full")
FULL_DIR = PROMPTS_DIR / "full"


class PromptError(NodeSynthError):
    """A prompt template that cannot be used; names the file and the variable."""


@dataclass(frozen=True)
class StageVariables:
    """What a stage fills its template with, and what a template of it must use."""

    available: frozenset[str]
    required: frozenset[str]


_SPEC = {"domain", "definition", "examples_clause", "use_case", "country_clause", "reply_format"}
STAGES: dict[str, StageVariables] = {
    "l1_categories": StageVariables(frozenset(_SPEC | {"n"}), frozenset({"domain", "n"})),
    "l2_topics": StageVariables(frozenset(_SPEC | {"n", "l1", "l1_rationale"}), frozenset({"l1", "n"})),
    "l3_terms": StageVariables(
        frozenset(_SPEC | {"n", "l1", "l2", "l2_rationale", "language_clause"}), frozenset({"l2", "n"})
    ),
    "user_groups": StageVariables(frozenset(_SPEC | {"n", "l1", "l1_rationale"}), frozenset({"l1", "n"})),
    "evidence_extract": StageVariables(frozenset(_SPEC | {"topic_path", "passages"}), frozenset({"passages"})),
    "evidence_support": StageVariables(frozenset({"quote", "kind", "item", "reply_format"}), frozenset({"quote", "item"})),
    "query": StageVariables(
        frozenset(
            _SPEC
            | {
                "user_group", "country_clause_person", "example_country", "topic_path", "taxonomy_path", "modality_task", "task",
                "modality_example", "language_name", "l1", "l2", "l3", "term", "term_rationale", "term_clause",
                "group_description", "group_details", "country", "evidence_clause", "tone", "tone_clause", "n",
            }
        ),
        frozenset({"user_group", "language_name"}),
    ),
}
"""Template name -> its variables. The stage name in rejects and the manifest is the caller's."""


def resolve_profile(choice: ProfileChoice, model: Model | str | None) -> Profile:
    """`auto`: compact for the embedded nodesynth/ models (and when no model is known), else full."""
    if choice != "auto":
        return choice
    return "compact" if model is None or str(model).startswith("nodesynth/") else "full"


@dataclass(frozen=True)
class Prompts:
    """The prompt choice of one build: a profile (or auto) and an optional folder of overrides."""

    choice: ProfileChoice = "auto"
    directory: Path | None = None

    def profile(self, model: Model | str | None) -> Profile:
        return resolve_profile(self.choice, model)

    def path(self, name: str, profile: Profile) -> Path:
        """The file the template `name` is read from for `profile`."""
        if self.directory is not None:
            for candidate in (self.directory / profile / f"{name}.yaml", self.directory / f"{name}.yaml"):
                if candidate.is_file():
                    return candidate
        shipped = (FULL_DIR if profile == "full" else PROMPTS_DIR) / f"{name}.yaml"
        return shipped if shipped.is_file() else PROMPTS_DIR / f"{name}.yaml"

    def template(self, name: str, model: Model | str | None, *, shipped_name: str | None = None) -> PromptTemplate:
        """The checked template for stage template `name`, for the profile `model` gets.

        `shipped_name` is the compact file to use when no override exists (the compact extractor's
        small-model format, evidence_extract_compact, shares the stage `evidence_extract`).
        """
        profile = self.profile(model)
        path = self.path(name, profile)
        if shipped_name is not None and profile == "compact":
            alternative = self.path(shipped_name, profile)
            if alternative != PROMPTS_DIR / f"{shipped_name}.yaml" or path == PROMPTS_DIR / f"{name}.yaml":
                path = alternative  # the small-model format, unless only the stage's own file is overridden
        return load_checked(path, name)

    def check(self, models: Mapping[str, Model | str | None]) -> dict[str, Profile]:
        """Load and check every template a build sends (stage -> model), before any model call.

        Returns the profile of each stage. Raises PromptError for an unusable template.
        """
        if self.directory is not None and not self.directory.is_dir():
            raise PromptError(f"prompts folder {self.directory} does not exist (spec field 'prompts').")
        if self.directory is not None:
            for path in sorted(self.directory.rglob("*.yaml")):
                if path.stem not in STAGES and path.stem != "evidence_extract_compact":
                    raise PromptError(f"{path}: no build stage uses a template named {path.stem!r} (known: {', '.join(STAGES)}).")
        profiles: dict[str, Profile] = {}
        for name, model in models.items():
            self.template(name, model)
            profiles[name] = self.profile(model)
        return profiles


@cache
def load_checked(path: Path, name: str) -> PromptTemplate:
    """Read a template file and check its variables against stage `name`'s; PromptError names the problem."""
    import yaml

    try:
        template = PromptTemplate.from_file(path)
    except FileNotFoundError:
        raise PromptError(f"{path}: no such template file.") from None
    except yaml.YAMLError:
        raise PromptError(f"{path}: not valid YAML.") from None
    except (TypeError, KeyError, AttributeError) as error:
        raise PromptError(
            f"{path}: a template is a mapping of system, request and optional example_request, example_reply, "
            f"examples, lines_format, json_format ({error})."
        ) from None
    try:
        used = template.fields()
    except ValueError as error:
        raise PromptError(f"{path}: a brace that is not a variable ({error}); write {{{{ and }}}} for literal braces.") from None
    variables = STAGES[name]
    for variable in sorted(used):
        if not variable or variable.isdigit():
            raise PromptError(f"{path}: positional variable '{{{variable}}}'; use a name ({', '.join(sorted(variables.available))}).")
        if variable not in variables.available:
            raise PromptError(
                f"{path}: unknown variable '{{{variable}}}' (the {name} stage provides {', '.join(sorted(variables.available))})."
            )
    missing = sorted(variables.required - used)
    if missing:
        raise PromptError(f"{path}: the {name} template must use the variable '{{{missing[0]}}}'.")
    return template


def prompts_for(spec: DomainSpec) -> Prompts:
    """The prompt choice a spec makes (`prompt_profile`, `prompts`)."""
    return Prompts(choice=spec.prompt_profile, directory=Path(spec.prompts) if spec.prompts else None)


def spec_values(spec: DomainSpec) -> dict[str, str]:
    """The spec's context every full-profile request carries: definition, examples and use case."""
    return {
        "domain": spec.domain,
        "definition": spec.definition.strip().rstrip("."),
        "examples_clause": f"Examples of concerns: {'; '.join(spec.examples)}.\n" if spec.examples else "",
        "use_case": spec.use_case,
    }
