"""What every build stage returns, and the checks shared by the list-writing stages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from .llm import ReplyError, normalise, parse_items
from .records import Reject

if TYPE_CHECKING:
    from inspect_ai.model import Model

T = TypeVar("T")

# Words that mean the model wrote a heading or a placeholder instead of a name.
PLACEHOLDER_NAMES = {"name", "category", "topic", "term", "group", "reason", "example", "none", "n/a", "item"}


@dataclass
class StageResult(Generic[T]):
    """The records a stage produced and everything it dropped, with reasons."""

    items: list[T] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def extend(self, other: StageResult[T]) -> None:
        self.items.extend(other.items)
        self.rejects.extend(other.rejects)


@dataclass
class CheckedItems:
    kept: list[tuple[str, str]]
    dropped: list[tuple[str, str]]  # (name, why)


def check_items(
    items: list[tuple[str, str]],
    *,
    want: int,
    avoid: set[str],
    example_lines: set[str],
    max_words: int = 8,
    max_chars: int = 80,
) -> CheckedItems:
    """Keep the first `want` usable (name, reason) items; say why each other one was dropped.

    Small models repeat themselves, copy the worked example, restate the parent topic and write
    sentences where a name was asked for; each of those is caught here and reported, never kept.
    Raises ReplyError when nothing usable is left, so the model is asked again.
    """
    kept: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    seen = {normalise(name) for name in avoid}
    for name, reason in items:
        key = normalise(name)
        line = normalise(f"{name}: {reason}")
        why = None
        if len(kept) >= want:
            why = f"more than the {want} asked for"
        elif not key or key in PLACEHOLDER_NAMES:
            why = "empty or placeholder name"
        elif line in example_lines or key in {normalise(example.split(":")[0]) for example in example_lines}:
            why = "copied from the worked example"
        elif key in seen:
            why = "repeats an earlier or parent name"
        elif len(name) > max_chars or len(name.split()) > max_words:
            why = f"name longer than {max_words} words / {max_chars} characters"
        elif len(reason) > 300:
            why = "reason longer than 300 characters"
        if why:
            dropped.append((name, why))
            continue
        seen.add(key)
        kept.append((name.strip().rstrip("."), reason.strip()))
    if not kept:
        reasons = "; ".join(sorted({why for _, why in dropped})) or "no 'name: reason' lines found"
        raise ReplyError(f"no usable items ({reasons}). Write {want} lines, each 'name: reason', with a short new name.")
    return CheckedItems(kept=kept, dropped=dropped)


async def generate_list(
    stage: str,
    template_name: str,
    model: Model,
    values: Mapping[str, object],
    *,
    want: int,
    avoid: set[str],
    context: dict[str, object],
    max_tokens: int = 200,
    max_words: int = 8,
) -> tuple[list[tuple[str, str]], list[Reject]]:
    """One validated call that asks for `want` 'name: reason' items; returns them and the rejects."""
    from .llm import PromptTemplate, generate_validated, reject_for

    template = PromptTemplate.load(template_name)
    values = {**values, "n": want}
    example_lines = template.example_lines(**values)
    checked: list[CheckedItems] = []

    def parse(reply: str) -> list[tuple[str, str]]:
        result = check_items(parse_items(reply), want=want, avoid=avoid, example_lines=example_lines, max_words=max_words)
        checked.append(result)
        return result.kept

    result = await generate_validated(model, template.messages(**values), parse, max_tokens=max_tokens, stage=stage)
    if result.value is None:
        return [], [reject_for(stage, result, context)]
    rejects = [
        Reject(stage=stage, reason=f"item dropped: {why}", context={**context, "item": name}, raw_output=result.raw)
        for name, why in checked[-1].dropped
    ]
    if len(result.value) < want:
        rejects.append(
            Reject(
                stage=stage,
                reason=f"shortfall: asked for {want} items, got {len(result.value)} usable",
                context=dict(context),
                raw_output=result.raw,
            )
        )
    return result.value, rejects
