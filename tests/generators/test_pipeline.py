"""The pipelined build (no stage barriers) writes exactly the staged build's dataset, in the same order."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.model import GenerateConfig, get_model

from generators.build import BuildModels, build_dataset
from generators.spec import load_spec
from tests.generators.test_build import SPEC
from tests.generators.test_provider_path import stub_responder
from tests.stub_server import openai_stub

WIDE = SPEC.replace("languages: [en]", "languages: [en, es]\nmodalities: [text-to-text, text-to-image]").replace(
    "countries: [ALL]", "countries: [ALL, India]"
)


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def jittery(seed: int):  # type: ignore[no-untyped-def]
    """Answers arrive in a random order; some L3 replies carry a repeated item (a reject) and fall short."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def respond(messages: list[dict[str, Any]]) -> str:
        with lock:
            delay = rng.random() * 0.03
        time.sleep(delay)
        reply = stub_responder(messages)
        last = json.dumps(messages[-1])
        if "specific terms" in last and "children" in last:
            first = reply.splitlines()[0]
            reply = f"{first}\n{first}"
        return reply

    return respond


def build_files(tmp_path: Path, name: str, pipelined: bool, seed: int) -> dict[str, list[dict[str, Any]]]:
    spec_file = tmp_path / "wide.yaml"
    spec_file.write_text(WIDE)
    spec, text = load_spec(spec_file)
    with openai_stub(jittery(seed)) as (base_url, _):
        model = get_model("openai/gpt-4o-mini", base_url=base_url, config=GenerateConfig(max_connections=16), memoize=False)
        asyncio.run(build_dataset(spec, text, BuildModels(model), tmp_path / name, pipelined=pipelined))
    files: dict[str, list[dict[str, Any]]] = {"taxonomy.json": json.loads((tmp_path / name / "taxonomy.json").read_text())["nodes"]}
    for file in ("queries.jsonl", "rejects.jsonl"):
        rows = [json.loads(line) for line in (tmp_path / name / file).read_text().splitlines()]
        files[file] = [{k: v for k, v in row.items() if k != "build_id"} for row in rows]
    return files


def test_pipelined_build_equals_the_staged_build(tmp_path: Path) -> None:
    staged = build_files(tmp_path, "staged", pipelined=False, seed=1)
    pipelined = build_files(tmp_path, "pipelined", pipelined=True, seed=2)
    assert len(staged["queries.jsonl"]) + len(staged["rejects.jsonl"]) > 60
    assert any("item dropped" in r["reason"] for r in staged["rejects.jsonl"])
    for file, rows in staged.items():
        assert pipelined[file] == rows, file


def test_a_build_keeps_no_model_events_in_memory(tmp_path: Path) -> None:
    """Outside an eval Inspect keeps every call's event for the process's life; a build keeps none."""
    from inspect_ai.event import ModelEvent
    from inspect_ai.log import transcript

    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(SPEC)
    spec, text = load_spec(spec_file)

    async def run() -> tuple[int, int, int]:
        before = transcript()  # the transcript this task's calls would otherwise fill
        with openai_stub(stub_responder) as (base_url, _):
            model = get_model("openai/gpt-4o-mini", base_url=base_url, memoize=False)
            summary = await build_dataset(spec, text, BuildModels(model), tmp_path / "out")
        after = transcript()
        kept = sum(isinstance(event, ModelEvent) for event in [*before.events, *after.events])
        return summary.model_calls, kept, len(before.events)

    calls, kept, before_events = asyncio.run(run())
    assert calls > 10 and kept == 0 and before_events == 0


def test_cells_in_flight_are_bounded_across_callers_and_keep_their_order() -> None:
    from generators.llm import limit_cells_in_flight, map_in_flight

    running, most = 0, 0

    async def run(item: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.001 * (item % 3))  # finish out of order
        running -= 1
        return item * 10

    async def two_callers() -> tuple[list[int], list[int]]:
        limit_cells_in_flight(5)
        first, second = await asyncio.gather(map_in_flight(range(40), run), map_in_flight(range(40, 60), run))
        return first, second

    first, second = asyncio.run(two_callers())
    assert first == [i * 10 for i in range(40)] and second == [i * 10 for i in range(40, 60)]
    assert most == 5  # the limit is shared by both callers, and reached

    most = 0
    assert asyncio.run(map_in_flight(range(30), run)) == [i * 10 for i in range(30)]  # no limit set: all at once
    assert most == 30
