"""Provider faults on the real OpenAI client path (loopback stub server): retried, stopped, or a reject."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import tenacity
from inspect_ai.model import GenerateConfig, get_model

from generators.artifact import read_queries
from generators.build import BuildModels, BuildSummary, build_dataset
from generators.faults import RESUME_HINT, ProviderUnavailable, RetryBudget, call_with_retry, classify, retry_reason
from generators.spec import load_spec
from tests.generators.test_build import SPEC
from tests.generators.test_provider_path import stub_responder
from tests.stub_server import Fault, openai_stub


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def build(tmp_path: Path, base_url: str, out: str, *, max_retries: int = 3, timeout: int = 60) -> BuildSummary:
    spec_file = tmp_path / "tiny.yaml"
    spec_file.write_text(SPEC)
    spec, text = load_spec(spec_file)
    config = GenerateConfig(max_connections=3, max_retries=max_retries, timeout=timeout, attempt_timeout=min(timeout, 20))
    model = get_model("openai/gpt-4o-mini", base_url=base_url, config=config, memoize=False)
    return asyncio.run(build_dataset(spec, text, BuildModels(model), tmp_path / out))


def queries_of(directory: Path) -> list[tuple[str, str]]:
    return [(record.id, record.input) for record in read_queries(directory)]


@pytest.fixture
def reference(tmp_path: Path) -> list[tuple[str, str]]:
    """The queries of a fault-free build (its own server, so its own cache entries)."""
    with openai_stub(stub_responder) as (base_url, _):
        build(tmp_path, base_url, "clean")
    return queries_of(tmp_path / "clean")


def test_truncated_malformed_reset_429_500_are_all_retried(tmp_path: Path, reference: list[tuple[str, str]]) -> None:
    cycle: list[Fault] = ["truncated", "malformed", "reset", "429", "500"]

    def every_third(number: int, messages: list[dict[str, Any]]) -> Fault | None:
        return cycle[(number // 3) % len(cycle)] if number % 3 == 0 else None

    with openai_stub(stub_responder, faults=every_third) as (base_url, state):
        summary = build(tmp_path, base_url, "faulty")
    assert set(state.injected) == set(cycle)  # every kind was served at least once
    assert queries_of(tmp_path / "faulty") == reference  # exactly the fault-free queries, same order
    assert summary.provider_errors == 0 and "provider error" not in json.dumps(summary.rejects_by_stage)
    # the build's own retries name the malformed bodies; Inspect's name the HTTP status or error type
    assert any(reason.startswith("malformed body (JSONDecodeError") for reason in summary.retries)
    assert any(reason.startswith("malformed body (TypeError") for reason in summary.retries)
    assert summary.retried == sum(summary.retries.values()) >= state.injected["truncated"] + state.injected["malformed"]
    manifest = json.loads((tmp_path / "faulty" / "manifest.json").read_text())
    assert manifest["retries"] == summary.retries and manifest["calls_by_stage"]["queries"] == 12


def test_provider_down_stops_the_build_and_the_same_build_resumes(tmp_path: Path, reference: list[tuple[str, str]]) -> None:
    with openai_stub(stub_responder) as (base_url, state):
        # after eight answers every request gets HTTP 500, past the budget of one retry
        state.faults = lambda number, messages: "500" if state.answered >= 8 else None
        with pytest.raises(ProviderUnavailable) as stopped:
            build(tmp_path, base_url, "resumed", max_retries=1, timeout=8)
        message = str(stopped.value)
        assert message.startswith("openai/gpt-4o-mini: ") and "500" in message and message.endswith(RESUME_HINT)
        assert "\n" not in message
        assert not (tmp_path / "resumed").exists()  # nothing written, nothing replaced
        finished = state.answered

        state.faults = None  # the provider is back
        summary = build(tmp_path, base_url, "resumed")
    assert queries_of(tmp_path / "resumed") == reference
    assert summary.cache_hits == finished and summary.model_calls == 21 - finished


def test_a_refused_request_is_a_provider_error_reject_not_a_silent_drop(tmp_path: Path) -> None:
    def refuse_one_query(number: int, messages: list[dict[str, Any]]) -> Fault | None:
        request = json.dumps(messages[-1])
        return "400" if "Medication misuse in children syrup" in request and "groups of people" not in request else None

    with openai_stub(stub_responder, faults=refuse_one_query) as (base_url, state):
        summary = build(tmp_path, base_url, "refused")
    assert state.injected.get("400", 0) >= 1
    assert summary.queries == 11 and summary.provider_errors == 1
    rejects = [json.loads(line) for line in (tmp_path / "refused" / "rejects.jsonl").read_text().splitlines()]
    refused = [reject for reject in rejects if reject["reason"] == "provider error"]
    assert len(refused) == 1 and refused[0]["stage"] == "queries" and "400" in refused[0]["context"]["error"]


def test_classify_names_each_kind_of_fault() -> None:
    def raised(error: BaseException) -> BaseException:
        try:
            raise error
        except BaseException as caught:
            return caught

    truncated = raised(json.JSONDecodeError("Unterminated string", "{\"id", 3))
    assert classify(truncated) == "malformed" and retry_reason(truncated).startswith("malformed body (JSONDecodeError")
    # a TypeError raised in our own code is a bug, not a malformed body: never retried
    assert classify(raised(TypeError("'NoneType' object is not iterable"))) == "fatal"

    class Status(Exception):
        status_code = 400

    assert classify(Status("bad request")) == "request"


def test_malformed_bodies_past_the_budget_stop_the_build_with_one_line() -> None:
    calls = 0

    async def always_truncated() -> str:
        nonlocal calls
        calls += 1
        raise json.JSONDecodeError("Unterminated string", "{\"id", 3)

    reasons: list[str] = []
    with pytest.raises(ProviderUnavailable) as stopped:
        asyncio.run(call_with_retry(always_truncated, model="openai/m", budget=RetryBudget(max_retries=2, timeout=30),
                                    on_retry=reasons.append, wait=tenacity.wait_none()))
    assert calls == 3 and len(reasons) == 2  # max_retries counts retries, as in Inspect
    assert str(stopped.value) == f"openai/m: JSONDecodeError: Unterminated string: line 1 column 4 (char 3); {RESUME_HINT}"
