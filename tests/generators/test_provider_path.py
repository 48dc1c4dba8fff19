"""A build through a real provider (Inspect's openai client) against a local stub server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nodesynth_tasks.cli.main import app
from tests.generators.test_build import SPEC, tidy_responder
from tests.stub_server import openai_stub


class _Message:
    def __init__(self, text: str) -> None:
        self.text = text


def stub_responder(messages: list[dict[str, Any]]) -> str:
    return tidy_responder([_Message(m["content"] if isinstance(m["content"], str) else m["content"][0]["text"]) for m in messages])


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def test_build_through_openai_provider(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    # the first two requests fail with HTTP 500: Inspect's retries must carry the build through
    with openai_stub(stub_responder, fail_first=2) as (base_url, state):
        result = CliRunner().invoke(app, [
            "build", str(spec), "--model", "openai/gpt-4o-mini", "-M", f"base_url={base_url}",
            "--out", str(tmp_path / "out"), "--json", "--max-connections", "3",
        ])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["queries"] == 12 and summary["model_calls"] == 21
        assert state.requests == 21 + 2
        assert summary["usage"]["openai/gpt-4o-mini"]["total_tokens"] == 21 * 27

        # an unchanged rebuild is served by Inspect's cache: not one request reaches the server
        again = CliRunner().invoke(app, [
            "build", str(spec), "--model", "openai/gpt-4o-mini", "-M", f"base_url={base_url}",
            "--out", str(tmp_path / "out"), "--json",
        ])
        assert json.loads(again.stdout.strip().splitlines()[-1])["cache_hits"] == 21
        assert state.requests == 23


def test_killed_build_resumes_without_repeating_finished_calls(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    release = threading.Event()
    answered: list[int] = []

    def slow_after_ten(messages: list[dict[str, Any]]) -> str:
        if len(answered) >= 10:
            release.wait(30)  # hold the build here until the test has killed it
        answered.append(1)
        return stub_responder(messages)

    with openai_stub(slow_after_ten) as (base_url, state):
        command = [sys.executable, "-m", "nodesynth_tasks.cli", "build", str(spec), "--model", "openai/gpt-4o-mini",
                   "-M", f"base_url={base_url}", "--out", str(tmp_path / "out"), "--max-connections", "1", "--json"]
        process = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while state.requests < 11 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        release.set()
        assert not (tmp_path / "out").exists()  # nothing half-written
        finished = 10

        result = CliRunner().invoke(app, command[3:])
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        # the 10 calls that finished before the kill come from the cache; only the rest are made
        assert summary["cache_hits"] == finished and summary["model_calls"] == 21 - finished
