"""Provider faults during a build: which ones to retry, which stop the build, which lose one cell.

Inspect retries what its provider classifies as transient (HTTP 429/5xx, timeouts, connection
errors) within `GenerateConfig.max_retries` / `timeout`, and raises `tenacity.RetryError` when
that budget is spent. It does not retry a 200 whose body is cut short or is not a completion
(`json.JSONDecodeError`, a pydantic `ValidationError`, or a `TypeError` while Inspect reads the
missing fields): those get a bounded retry of the build's own here. A provider that stays down
stops the build with `ProviderUnavailable` (finished calls are in Inspect's cache, so the same
command resumes); a request the provider refuses on its own (HTTP 400/413/422) costs only that
cell, which becomes a reject with reason `provider error`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import pydantic
import tenacity

T = TypeVar("T")

FaultKind = Literal["exhausted", "malformed", "request", "fatal"]
RESUME_HINT = "finished calls are cached: run the same command again to resume"
DEFAULT_MAX_RETRIES = 6
DEFAULT_TIMEOUT = 300  # seconds per call, retries included: a dead provider ends the build within ~5 minutes
MAX_ATTEMPT_TIMEOUT = 120
REQUEST_STATUSES = {400, 413, 422}  # the provider refuses this one request; others may still succeed

# where a TypeError/KeyError/AttributeError means "the provider's body lacked a field", not our bug
_PROVIDER_CODE = (Path("inspect_ai") / "model", Path("openai"), Path("httpx"))


class ProviderUnavailable(Exception):
    """The provider kept failing past the retry budget (or refused every call): the build stops.

    Not a `NodeSynthError`: the user did nothing wrong, and the exit code is 1, not 2.
    """

    def __init__(self, model: str, error: str) -> None:
        super().__init__(f"{model}: {error}; {RESUME_HINT}")
        self.model = model
        self.error = error


@dataclass(frozen=True)
class RetryBudget:
    """What the build gives one call before it stops waiting (it also goes to Inspect's GenerateConfig)."""

    max_retries: int = DEFAULT_MAX_RETRIES
    timeout: int = DEFAULT_TIMEOUT

    @property
    def attempt_timeout(self) -> int:
        return max(1, min(self.timeout, MAX_ATTEMPT_TIMEOUT))

    def generate_config(self) -> dict[str, int]:
        """The GenerateConfig fields that give Inspect's retries this budget (none enters the cache key)."""
        return {"max_retries": self.max_retries, "timeout": self.timeout, "attempt_timeout": self.attempt_timeout}


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def unwrap(error: BaseException) -> BaseException:
    """The provider's own exception inside Inspect's tenacity.RetryError."""
    if isinstance(error, tenacity.RetryError):
        last = error.last_attempt.exception()
        if last is not None:
            return last
    return error


def status_code(error: BaseException) -> int | None:
    for link in _chain(error):
        code = getattr(link, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def describe(error: BaseException) -> str:
    """One line: the exception type, its HTTP status and the first line of its message."""
    error = unwrap(error)
    status = status_code(error)
    message = str(getattr(error, "provider_message", None) or error).strip().splitlines()
    text = type(error).__name__ + (f" {status}" if status is not None else "")
    return f"{text}: {message[0][:200]}" if message and message[0] else text


def retry_reason(error: BaseException) -> str:
    """How the accounting names a retried fault: `HTTP 429`, `malformed body (JSONDecodeError)`, ..."""
    error = unwrap(error)
    status = status_code(error)
    if classify(error) == "malformed":
        return f"malformed body ({type(error).__name__})"
    return f"HTTP {status}" if status is not None else type(error).__name__


def _raised_in_provider(error: BaseException) -> bool:
    frames = []
    traceback = error.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame.f_code.co_filename)
        traceback = traceback.tb_next
    return bool(frames) and any(str(part) in frames[-1] for part in _PROVIDER_CODE)


def classify(error: BaseException) -> FaultKind:
    """What a failed `Model.generate` means for the build."""
    if isinstance(error, tenacity.RetryError):
        return "exhausted"
    for link in _chain(error):
        if isinstance(link, (json.JSONDecodeError, pydantic.ValidationError)):
            return "malformed"
    if isinstance(error, (TypeError, KeyError, AttributeError)) and _raised_in_provider(error):
        return "malformed"
    if status_code(error) in REQUEST_STATUSES:
        return "request"
    return "fatal"


async def call_with_retry(
    call: Callable[[], Awaitable[T]],
    *,
    model: str,
    budget: RetryBudget,
    on_retry: Callable[[str], None] | None = None,
    wait: tenacity.wait.wait_base | None = None,
) -> T:
    """Run `call`, retrying malformed bodies with backoff within `budget`.

    Raises ProviderUnavailable when Inspect's retries ran out, when malformed bodies outlast the
    budget, or for an error that no retry will fix (auth, quota, unknown model); re-raises a
    `request` fault (HTTP 400/413/422) for the caller to record against its cell.
    """
    retrying = tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception(lambda error: classify(error) == "malformed"),
        stop=tenacity.stop_after_attempt(budget.max_retries + 1) | tenacity.stop_after_delay(budget.timeout),
        wait=wait or tenacity.wait_exponential_jitter(initial=1, max=30, jitter=1),
        before_sleep=_report_retry(on_retry) if on_retry else None,
        reraise=True,
    )
    try:
        return await retrying(call)
    except Exception as error:
        kind = classify(error)
        if kind == "request":
            raise
        if kind in ("exhausted", "malformed", "fatal") and _is_provider_error(error):
            raise ProviderUnavailable(model, describe(error)) from error
        raise


def _report_retry(on_retry: Callable[[str], None]) -> Callable[[tenacity.RetryCallState], None]:
    def report(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        on_retry(retry_reason(error) if error is not None else "unknown")

    return report


def _is_provider_error(error: BaseException) -> bool:
    """Errors a provider (or the path to it) raised, as opposed to a bug in the build."""
    if classify(error) in ("exhausted", "malformed"):
        return True
    # Inspect's ModelGenerateError (private) carries the provider's status_code, checked below
    provider_types: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    try:
        import openai

        provider_types += (openai.APIError,)
    except ImportError:  # pragma: no cover - openai is optional
        pass
    return any(isinstance(link, provider_types) for link in _chain(error)) or status_code(error) is not None
