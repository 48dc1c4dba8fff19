"""Structured replies: the pydantic model of each stage's answer, and the call that asks for it.

With the full prompt profile a stage asks a capable model for JSON through Inspect's
`GenerateConfig(response_schema=...)`, built from the stage's reply model here. Every reply model
converts to and from the stage's line format, so one parser (and its checks) serves both paths: a
schema reply is validated against its model, then rendered as lines and checked like any other
reply. Providers that do not honour `response_schema` get the line format instead (a fallback),
and so does a call whose provider rejects the schema. Each call is counted per stage in the build's
`BuildStats.stages` (schema replies, fallbacks, retries).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

from inspect_ai.model import ChatMessage, Model, ResponseSchema
from inspect_ai.util import json_schema
from pydantic import BaseModel, Field, ValidationError

from .llm import CallResult, PromptTemplate, ReplyError, active_stats, generate_validated, json_payload, parse_items

T = TypeVar("T")

# Providers whose Inspect model API passes `response_schema` on to the model (structured output).
SCHEMA_PROVIDERS = frozenset(
    {
        "openai", "openai-api", "anthropic", "google", "vertex", "mistral", "grok", "groq", "bedrock", "azureai",
        "together", "fireworks", "openrouter", "vllm", "sglang", "deepseek", "sagemaker", "llama-cpp-python",
    }
)


class Reply(BaseModel):
    """A stage's structured answer; `to_text` renders it in the stage's line format."""

    schema_name: ClassVar[str] = "reply"

    @classmethod
    def from_text(cls, text: str) -> Reply:
        """The reply a line-format answer stands for (renders a template's worked examples as JSON)."""
        raise NotImplementedError

    def to_text(self) -> str:
        raise NotImplementedError


class NamedItem(BaseModel):
    name: str = Field(description="a short name, 1-6 words")
    reason: str = Field(description="one sentence on why it belongs")


class ListReply(Reply):
    """The L1, L2, L3 and user-group stages: named items with a reason each."""

    schema_name: ClassVar[str] = "named_items"
    items: list[NamedItem]

    @classmethod
    def from_text(cls, text: str) -> ListReply:
        return cls(items=[NamedItem(name=name, reason=reason) for name, reason in parse_items(text)])

    def to_text(self) -> str:
        return "\n".join(f"{item.name}: {item.reason}" for item in self.items)


class QueryReply(Reply):
    """The query stage: the person's messages, in their own words."""

    schema_name: ClassVar[str] = "user_messages"
    messages: list[str] = Field(description="each message exactly as the person would type it")

    @classmethod
    def from_text(cls, text: str) -> QueryReply:
        return cls(messages=[line.strip() for line in text.splitlines() if line.strip()])

    def to_text(self) -> str:
        return "\n".join(" ".join(message.split()) for message in self.messages)


class AffectedPeople(BaseModel):
    type: Literal["occupation", "demographic", "country"]
    people: str = Field(
        description="the group of people (e.g. 'older adults', 'community health workers') or the country; "
        "never an activity, service, condition or policy"
    )
    quote: str = Field(description="words copied exactly from the passage that say these people are affected")
    source: str = Field(description="the passage id, e.g. P1")


class ExtractionReply(Reply):
    """The evidence extractor (full profile): groups of people each passage says are affected."""

    schema_name: ClassVar[str] = "affected_people"
    items: list[AffectedPeople] = Field(description="empty when the passages name no one")

    @classmethod
    def from_text(cls, text: str) -> ExtractionReply:
        items = []
        for line in text.splitlines():
            cells = [cell.strip() for cell in line.split("|")]
            if len(cells) == 4:
                items.append(AffectedPeople.model_validate(dict(zip(("type", "people", "quote", "source"), cells, strict=True))))
        return cls(items=items)

    def to_text(self) -> str:
        if not self.items:
            return "none"
        return "\n".join(f"{item.type} | {item.people} | {item.quote} | {item.source}" for item in self.items)


class SupportReply(Reply):
    """The evidence support check: yes or no."""

    schema_name: ClassVar[str] = "support"
    answer: Literal["yes", "no"]

    @classmethod
    def from_text(cls, text: str) -> SupportReply:
        return cls(answer="yes" if text.strip().casefold().startswith("yes") else "no")

    def to_text(self) -> str:
        return self.answer


def supports_schema(model: Model | str) -> bool:
    """True if the model's provider passes `response_schema` on (so JSON replies are enforced)."""
    return str(model).split("/", 1)[0] in SCHEMA_PROVIDERS


def response_schema(reply: type[Reply]) -> ResponseSchema:
    return ResponseSchema(name=reply.schema_name, json_schema=json_schema(reply), description=reply.__doc__)


def reply_format(template: PromptTemplate, structured: bool) -> str:
    """The template's instruction for the reply format in use (empty if it has none)."""
    return (template.json_format if structured else template.lines_format) or ""


def structured_parse(reply: type[Reply], parse: Callable[[str], T]) -> Callable[[str], T]:
    """Validate a JSON reply against `reply`, then check it with the stage's line parser."""

    def parse_json(raw: str) -> T:
        payload = json_payload(raw, list_keys=())
        try:
            value = reply.model_validate(payload)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(map(str, first["loc"])) or "(top level)"
            raise ReplyError(f"the JSON does not match the schema {reply.schema_name}: {where}: {first['msg']}.") from None
        return parse(value.to_text())

    return parse_json


def _refuses_schema(error: str) -> bool:
    """Whether a provider's error is about structured output (it does not take `response_schema`)."""
    text = error.casefold()
    return "schema" in text or "response_format" in text


async def generate_reply(
    stage: str,
    model: Model,
    template: PromptTemplate,
    values: Mapping[str, Any],
    parse: Callable[[str], T],
    *,
    reply: type[Reply] | None,
    max_tokens: int,
    retries: int = 2,
    stop_seqs: list[str] | None = None,
) -> CallResult[T]:
    """One validated call of `stage`: JSON through `response_schema` when `reply` is given and the
    provider supports it, else the line format. Counted per stage in the active BuildStats."""
    stats = active_stats()
    calls = stats.stage_calls(stage) if stats is not None else None
    structured = reply is not None and supports_schema(model)
    if reply is not None and not structured and calls is not None:
        calls.fallbacks += 1
    if structured and reply is not None:
        try:
            result = await generate_validated(
                model,
                render(template, values, reply, structured=True),
                structured_parse(reply, parse),
                max_tokens=max_tokens,
                retries=retries,
                stop_seqs=stop_seqs,
                response_schema=response_schema(reply),
                stage=stage,
            )
        except Exception as error:  # the provider refused the schema: ask in the line format instead
            if not _refuses_schema(str(error)):
                raise
            structured = False
            if calls is not None:
                calls.fallbacks += 1
        else:
            if result.provider_error and _refuses_schema(result.error or ""):
                # a 400 about the schema comes back as a refused request (generators.faults): fall back
                structured = False
                if stats is not None:
                    stats.provider_errors -= 1
                if calls is not None:
                    calls.fallbacks += 1
            else:
                if calls is not None:
                    calls.calls += 1
                    calls.schema_replies += int(result.value is not None)
                    calls.retries += result.attempts - 1
                return result
    result = await generate_validated(
        model,
        render(template, values, reply, structured=False),
        parse,
        max_tokens=max_tokens,
        retries=retries,
        stop_seqs=stop_seqs,
        stage=stage,
    )
    if calls is not None:
        calls.calls += 1
        calls.retries += result.attempts - 1
    return result


def render(template: PromptTemplate, values: Mapping[str, Any], reply: type[Reply] | None, *, structured: bool) -> list[ChatMessage]:
    """The conversation for one call; in JSON mode the worked example replies are shown as JSON too."""
    filled = {**values, "reply_format": reply_format(template, structured)}
    as_json = None
    if structured and reply is not None:
        schema = reply

        def as_json(text: str) -> str:  # a user's worked example the reply model cannot read is shown as written
            try:
                return schema.from_text(text).model_dump_json()
            except (ValidationError, ValueError):
                return text

    return template.messages(reply_as=as_json, **filled)
