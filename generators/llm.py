"""Validated model calls for the build stages, and the accounting of every call a build makes.

Every call goes through `inspect_ai.model.get_model(...)` models and Inspect's generate cache,
so a rerun of an unchanged build is served from the cache and a killed build resumes without
repeating the calls that finished.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from inspect_ai.hooks import Hooks, ModelCacheUsageData, ModelRetry, ModelUsageData, hooks
from inspect_ai.model import (
    CachePolicy,
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ModelOutput,
    ResponseSchema,
)

from .faults import RetryBudget, call_with_retry, classify, describe
from .records import ModelUsageSummary, Reject, StageCalls

PROMPTS_DIR = Path(__file__).parent / "prompts"

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


# --- accounting -------------------------------------------------------------------------


@dataclass
class BuildStats:
    """Requests, cache hits, retries and tokens of one build (or one test), per stage and model."""

    requests: int = 0
    cache_hits: int = 0
    usage: dict[str, ModelUsageSummary] = field(default_factory=dict)
    stages: dict[str, StageCalls] = field(default_factory=dict)
    calls_by_stage: dict[str, int] = field(default_factory=dict)  # calls that reached a provider
    usage_by_stage: dict[str, dict[str, ModelUsageSummary]] = field(default_factory=dict)  # stage -> model -> tokens
    retries: dict[str, int] = field(default_factory=dict)  # why ("HTTP 429", "malformed body (...)") -> count
    provider_errors: int = 0

    def stage_calls(self, stage: str) -> StageCalls:
        return self.stages.setdefault(stage, StageCalls())

    @property
    def model_calls(self) -> int:
        return self.requests - self.cache_hits

    @property
    def retried(self) -> int:
        return sum(self.retries.values())

    def add_usage(self, model: str, input_tokens: int, output_tokens: int, stage: str | None = None) -> None:
        summaries = [self.usage.setdefault(model, ModelUsageSummary())]
        if stage is not None:
            self.calls_by_stage[stage] = self.calls_by_stage.get(stage, 0) + 1
            summaries.append(self.usage_by_stage.setdefault(stage, {}).setdefault(model, ModelUsageSummary()))
        for summary in summaries:
            summary.input_tokens += input_tokens
            summary.output_tokens += output_tokens
            summary.total_tokens += input_tokens + output_tokens

    def add_retry(self, reason: str) -> None:
        self.retries[reason] = self.retries.get(reason, 0) + 1

    @property
    def total_tokens(self) -> int:
        return sum(summary.total_tokens for summary in self.usage.values())


_active_stats: contextvars.ContextVar[BuildStats | None] = contextvars.ContextVar("nodesynth_build_stats", default=None)
_active_stage: contextvars.ContextVar[str | None] = contextvars.ContextVar("nodesynth_build_stage", default=None)


def track_stats(stats: BuildStats) -> contextvars.Token[BuildStats | None]:
    """Count the model calls made in this context (and the tasks it starts) into `stats`."""
    return _active_stats.set(stats)


def active_stats() -> BuildStats | None:
    """The BuildStats calls in this context are counted into, if any."""
    return _active_stats.get()


def untrack_stats(token: contextvars.Token[BuildStats | None]) -> None:
    _active_stats.reset(token)


@hooks(name="nodesynth_build_accounting", description="Counts NodeSynth build model calls and cache hits.")
class BuildAccounting(Hooks):
    """Inspect reports real calls (on_model_usage) and cache hits (on_model_cache_usage) here."""

    def enabled(self) -> bool:
        return _active_stats.get() is not None

    async def on_model_usage(self, data: ModelUsageData) -> None:
        stats = _active_stats.get()
        if stats is not None:
            stats.add_usage(data.model_name, data.usage.input_tokens, data.usage.output_tokens, _active_stage.get())

    async def on_model_cache_usage(self, data: ModelCacheUsageData) -> None:
        stats = _active_stats.get()
        if stats is not None:
            stats.cache_hits += 1

    async def on_model_retry(self, data: ModelRetry) -> None:
        stats = _active_stats.get()
        if stats is not None:
            reason = f"HTTP {data.status_code}" if data.status_code is not None else data.exception_type or "unknown"
            stats.add_retry(reason)


# --- prompts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptTemplate:
    """A stage prompt: a system message, worked example turns and the request.

    Template files are YAML (system, example_request, example_reply, optional `examples`: a list
    of further {request, reply} pairs, and request), formatted with `str.format`. The worked
    examples are sent as earlier turns of the conversation: small models follow a demonstrated
    answer far better than a described one, and two demonstrations from different domains fix the
    format without inviting a copy of either. Full-profile templates may also give `lines_format`
    and `json_format`, the reply-format instruction filled into `{reply_format}` (not formatted).
    """

    system: str
    request: str
    example_request: str | None = None
    example_reply: str | None = None
    examples: tuple[tuple[str, str], ...] = ()
    lines_format: str | None = None
    json_format: str | None = None

    @classmethod
    def load(cls, name: str) -> PromptTemplate:
        return cls.from_file(PROMPTS_DIR / f"{name}.yaml")

    @classmethod
    def from_file(cls, path: Path) -> PromptTemplate:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["examples"] = tuple((pair["request"], pair["reply"]) for pair in data.get("examples") or [])
        return cls(**data)

    def fields(self) -> set[str]:
        """The variables the template's formatted texts use (`{name}`)."""
        import string

        texts = [self.system, self.request, *(text for pair in self._pairs() for text in pair)]
        return {
            name.split(".")[0].split("[")[0]
            for text in texts
            for _, name, _, _ in string.Formatter().parse(text)
            if name is not None
        }

    def _pairs(self) -> list[tuple[str, str]]:
        pairs = list(self.examples)
        if self.example_request and self.example_reply:
            pairs.insert(0, (self.example_request, self.example_reply))
        return pairs

    def messages(self, reply_as: Callable[[str], str] | None = None, **values: Any) -> list[ChatMessage]:
        """The conversation; `reply_as` rewrites each worked example reply (e.g. as JSON)."""
        messages: list[ChatMessage] = [ChatMessageSystem(content=self.system.format(**values).strip())]
        for request, reply in self._pairs():
            text = reply.format(**values).strip()
            messages.append(ChatMessageUser(content=request.format(**values).strip()))
            messages.append(ChatMessageAssistant(content=reply_as(text) if reply_as else text))
        messages.append(ChatMessageUser(content=self.request.format(**values).strip()))
        return messages

    def example_lines(self, **values: Any) -> set[str]:
        """Lines of the worked examples, so a reply that copies one can be rejected."""
        return {
            normalise(line)
            for _, reply in self._pairs()
            for line in reply.format(**values).splitlines()
            if line.strip()
        }


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().strip("\"'`*").casefold()


# --- parsing ----------------------------------------------------------------------------


class ReplyError(ValueError):
    """A reply that does not fit the stage's format; the message goes back to the model."""


_LIST_PREFIX = re.compile(r"^\s*(?:\d{1,2}\s*[.)]|[-*•])\s*")
_ITEM_SEPARATOR = re.compile(r"\s*(?::|\s[-–—]\s)\s*")


def parse_items(reply: str) -> list[tuple[str, str]]:
    """Parse a list reply into (name, reason) pairs.

    The wire format is one item per line, `name: reason` (a JSON list of {"name", "reason"}
    objects is accepted too, for models that prefer it). Markdown emphasis and list markers
    are tolerated; anything else on a line without a separator is not an item.
    """
    payload = json_payload(reply)
    if isinstance(payload, list):
        items = []
        for entry in payload:
            if isinstance(entry, dict):
                name = entry.get("name") or entry.get("label") or entry.get("term")
                reason = entry.get("reason") or entry.get("rationale") or ""
                if isinstance(name, str):
                    items.append((name.strip(), str(reason).strip()))
        return items
    items = []
    for line in reply.splitlines():
        line = _LIST_PREFIX.sub("", line.replace("**", "")).strip()
        if not line:
            continue
        parts = _ITEM_SEPARATOR.split(line, maxsplit=1)
        if len(parts) == 2 and parts[0].strip():
            items.append((parts[0].strip().strip("\"'"), parts[1].strip()))
    return items


def json_payload(reply: str, list_keys: Sequence[str] = ("items", "list", "results")) -> Any:
    """The first JSON value in a model's reply (models wrap it in prose or code fences), or None.

    An object holding a list under one of `list_keys` (`{"items": [...]}`) gives that list.
    """
    start = min((i for i in (reply.find("["), reply.find("{")) if i >= 0), default=-1)
    if start < 0:
        return None
    try:
        payload, _ = json.JSONDecoder().raw_decode(reply[start:])
    except ValueError:
        return None
    if isinstance(payload, dict):
        for key in list_keys:
            if isinstance(payload.get(key), list):
                return payload[key]
    return payload


# --- the validated call -----------------------------------------------------------------


# --- cells in flight -------------------------------------------------------------------

@dataclass(frozen=True)
class _CellSlots:
    semaphore: asyncio.Semaphore
    limit: int


_cell_slots: contextvars.ContextVar[_CellSlots | None] = contextvars.ContextVar("nodesynth_cell_slots", default=None)

MIN_CELLS_IN_FLIGHT = 32


def model_connections(model: Model) -> int:
    """The concurrent requests Inspect allows `model` (its setting, else the provider's default)."""
    return model.config.max_connections or model.api.max_connections()


def limit_cells_in_flight(limit: int) -> None:
    """At most `limit` cells rendered and waiting for a model at once, across this task and its children.

    Without a bound a 50,000-cell build started every cell at once: each rendered its request
    and waited in Inspect's connection queue, so memory grew with the calls, not the records.
    Call at the top of a build, with about twice the model's connections (none is ever idle).
    """
    _cell_slots.set(_CellSlots(asyncio.Semaphore(max(limit, 1)), max(limit, 1)))


async def map_in_flight(items: Sequence[A], run: Callable[[A], Awaitable[B]]) -> list[B]:
    """`[await run(item) for item in items]`, concurrently, results in the items' order.

    Holds at most the build's cell slots (`limit_cells_in_flight`) in flight, shared by every
    caller: a fixed pool of workers per call, so no task exists for a cell not yet started.
    Without a limit set, every item at once (as `asyncio.gather`).
    """
    slots = _cell_slots.get()
    if slots is None:
        return list(await asyncio.gather(*(run(item) for item in items)))
    results: list[B | None] = [None] * len(items)
    queue = iter(enumerate(items))

    async def worker() -> None:
        for index, item in queue:  # one shared iterator: each item is taken by one worker
            async with slots.semaphore:
                results[index] = await run(item)

    await asyncio.gather(*(worker() for _ in range(min(len(items), slots.limit))))
    return cast("list[B]", results)


def keep_no_transcript() -> None:
    """Keep no model-call events for this task and the tasks it starts (call at the top of a build).

    Outside an eval Inspect appends each call's event (messages, output, raw request and
    response) to the current transcript for the life of the process: about 70 KB per call, so a
    50,000-call build held gigabytes. A bounded transcript with no resident tail keeps none;
    the build's own accounting (`BuildStats`) and the generate cache keep what matters.
    """
    from inspect_ai.log import Transcript

    from nodesynth_common.inspect_internals import init_transcript

    init_transcript(Transcript(bounded=True, resident_tail=0))


@dataclass
class CallResult(Generic[T]):
    value: T | None
    raw: str
    attempts: int
    error: str | None = None
    provider_error: bool = False  # the provider refused the request (the cell is lost, not the build)


def retry_budget(model: Model) -> RetryBudget:
    """The build's own retry budget: the model's Inspect settings, so one flag governs both."""
    config = model.config
    defaults = RetryBudget()
    return RetryBudget(
        max_retries=config.max_retries if config.max_retries is not None else defaults.max_retries,
        timeout=config.timeout if config.timeout is not None else defaults.timeout,
    )


async def generate_validated(
    model: Model,
    messages: Sequence[ChatMessage],
    parse: Callable[[str], T],
    *,
    max_tokens: int,
    retries: int = 2,
    stop_seqs: list[str] | None = None,
    response_schema: ResponseSchema | None = None,
    stage: str | None = None,
) -> CallResult[T]:
    """Call the model and parse its reply; a reply that fails goes back with the error.

    Greedy decoding and Inspect's generate cache on every attempt. Returns the parsed value,
    or None with the last error and raw reply (the caller turns that into a reject).
    `response_schema` asks the provider for JSON of that schema (generators/replies.py). Provider
    faults: see `generators.faults` (raises ProviderUnavailable when the provider stays down).
    """
    stats = _active_stats.get()
    stage_token = _active_stage.set(stage) if stage is not None else None
    conversation = list(messages)
    config = GenerateConfig(max_tokens=max_tokens, temperature=0.0, stop_seqs=stop_seqs, response_schema=response_schema)
    budget = retry_budget(model)
    raw = ""
    error = "no reply"
    try:
        for attempt in range(1, retries + 2):
            if stats is not None:
                stats.requests += 1
            async def call(turn: list[ChatMessage] = conversation) -> ModelOutput:
                return await model.generate(turn, config=config, cache=CachePolicy(expiry=None))

            try:
                output = await call_with_retry(
                    call,
                    model=str(model),
                    budget=budget,
                    on_retry=stats.add_retry if stats is not None else None,
                )
            except Exception as failure:
                if classify(failure) != "request":
                    raise
                if stats is not None:
                    stats.provider_errors += 1
                return CallResult(value=None, raw="", attempts=attempt, error=describe(failure), provider_error=True)
            raw = output.completion
            try:
                return CallResult(value=parse(raw), raw=raw, attempts=attempt)
            except ReplyError as failure:
                error = str(failure)
            conversation = [
                *conversation,
                ChatMessageAssistant(content=raw or "(empty reply)"),
                ChatMessageUser(content=f"That reply could not be used: {error} Please answer again in the same format."),
            ]
    finally:
        if stage_token is not None:
            _active_stage.reset(stage_token)
    return CallResult(value=None, raw=raw, attempts=retries + 1, error=error)


PROVIDER_ERROR = "provider error"


def reject_for(stage: str, result: CallResult[Any], context: dict[str, Any]) -> Reject:
    if result.provider_error:  # never a silent drop: the cell is a reject the summary counts
        return Reject(stage=stage, reason=PROVIDER_ERROR, context={**context, "error": result.error}, raw_output="")
    return Reject(
        stage=stage,
        reason=f"unusable model output after {result.attempts} attempts: {result.error}",
        context=context,
        raw_output=result.raw,
    )
