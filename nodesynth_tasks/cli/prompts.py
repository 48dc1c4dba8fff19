"""`nodesynth prompts`: what each build stage will ask its model, with no model call.

    nodesynth prompts datasets/specs/medical_advice.yaml --model anthropic/claude-sonnet-4-5 --stage queries
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .common import DEFAULT_MODEL, PromptProfileOption


def prompts(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC", help="domain spec YAML (see datasets/specs/)")],
    stage: Annotated[
        str | None,
        typer.Option(help="one stage: l1, l2, l3, user_groups, evidence, evidence_support, queries (or a template name)"),
    ] = None,
    profile: Annotated[
        PromptProfileOption | None, typer.Option(help="compact or full; default: the spec's prompt_profile (auto: by --model)")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="the model the build would use: decides auto and JSON replies; not called")
    ] = DEFAULT_MODEL,
    grounded: Annotated[
        bool | None, typer.Option("--grounded/--not-grounded", help="show the evidence stages; default: if the spec has evidence:")
    ] = None,
) -> None:
    """Print the rendered requests (system message, worked examples, request) of each stage for one example cell."""
    from generators.prompt_preview import preview
    from generators.spec import load_spec

    spec, _ = load_spec(spec_file)
    rendered = preview(spec, model, stage=stage, profile=profile.value if profile else None, grounded=grounded)
    sys.stdout.write("\n\n".join(prompt.text() for prompt in rendered) + "\n")
