"""`nodesynth build` on real provider paths: retry settings and batch reach every model, the dry
run calls and writes nothing, a provider that stays down ends in one line and exit 1."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from generators.build import BuildModels, BuildSummary
from generators.faults import RESUME_HINT
from generators.plan import plan_build
from generators.spec import load_spec
from nodesynth_tasks.cli.main import app
from tests.generators.test_build import SPEC
from tests.generators.test_provider_path import stub_responder
from tests.stub_server import openai_stub


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the engine: keep the models the command created, build nothing."""
    seen: dict[str, Any] = {}

    async def fake_build(spec: Any, spec_text: str, models: BuildModels, out_dir: Path, *args: Any, **kwargs: Any) -> BuildSummary:
        seen["models"] = models
        seen["prices"] = kwargs.get("prices")
        return BuildSummary(name=spec.name, out_dir=str(out_dir), build_id="b", queries=0, rejects=0, taxonomy_nodes=0,
                            user_groups=0, model_calls=0, cache_hits=0, tokens=0, seconds=0.0)

    monkeypatch.setattr("generators.build.build_dataset", fake_build)
    return seen


def models_of(seen: dict[str, Any]) -> list[Any]:
    models: BuildModels = seen["models"]
    return [model for model in (models.generator, models.tag, models.extractor_model) if model is not None]


def test_retry_timeout_and_batch_settings_reach_every_model(spec_file: Path, tmp_path: Path, captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, [
        "build", str(spec_file), "--model", "mockllm/model", "--tag-model", "mockllm/tag", "--extractor-model", "mockllm/x",
        "--out", str(tmp_path / "out"), "--max-retries", "2", "--timeout", "30", "--batch-size", "7", "--json",
    ])
    assert result.exit_code == 0, result.output
    models = models_of(captured)
    assert len(models) == 3
    for model in models:
        config = model.config
        assert (config.max_retries, config.timeout, config.attempt_timeout, config.batch) == (2, 30, 30, 7), str(model)
    assert json.loads(result.stdout.strip().splitlines()[-1])["name"] == "tiny"


def test_defaults_give_up_on_a_dead_provider_within_minutes(spec_file: Path, tmp_path: Path, captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["build", str(spec_file), "--model", "mockllm/model", "--tag-model", "generator",
                                      "--out", str(tmp_path / "out"), "--batch"])
    assert result.exit_code == 0, result.output
    [generator] = models_of(captured)
    assert generator.config.max_retries == 6 and generator.config.timeout == 300 and generator.config.attempt_timeout == 120
    assert generator.config.batch is True


def test_no_batch_by_default_and_prices_from_the_flags(spec_file: Path, tmp_path: Path, captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["build", str(spec_file), "--model", "mockllm/model", "--tag-model", "generator",
                                      "--out", str(tmp_path / "out"), "--price-in", "1", "--price-out", "4"])
    assert result.exit_code == 0, result.output
    assert models_of(captured)[0].config.batch is None
    assert captured["prices"]["mockllm/model"].input == 1.0 and captured["prices"]["mockllm/model"].output == 4.0


def test_dry_run_calls_no_model_and_writes_nothing(spec_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    with openai_stub(stub_responder) as (base_url, state):
        result = CliRunner().invoke(app, [
            "build", str(spec_file), "--model", "openai/gpt-4o-mini", "-M", f"base_url={base_url}", "--dry-run", "--json",
            "--price-in", "0.15", "--price-out", "0.6",
        ])
        assert result.exit_code == 0, result.output
        assert state.requests == 0
    plan = json.loads(result.stdout.strip().splitlines()[-1])
    assert plan["cells"] == 12 and plan["model_calls"] == 21 and plan["tokens"]["total"] > 0
    assert plan["cost"] == pytest.approx((plan["tokens"]["input"] * 0.15 + plan["tokens"]["output"] * 0.6) / 1e6)
    assert list(work.iterdir()) == []  # no dataset directory, no file
    cache = Path(os.environ["INSPECT_CACHE_DIR"])
    assert not cache.exists() or not any(cache.rglob("*"))

    table = CliRunner().invoke(app, ["build", str(spec_file), "--dry-run"])
    assert table.exit_code == 0 and "21" in table.stdout and "12 query cells" in table.stdout
    assert "cost unknown" in table.stdout  # the embedded model has no price
    spec, _ = load_spec(spec_file)
    assert plan["stages"]["queries"]["calls"] == plan_build(spec).stages["queries"].calls


def test_provider_down_is_one_line_exit_1_and_the_same_command_resumes(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with openai_stub(stub_responder) as (base_url, state):
        state.faults = lambda number, messages: "500" if state.answered >= 8 else None
        command = ["build", str(spec_file), "--model", "openai/gpt-4o-mini", "-M", f"base_url={base_url}", "--out", str(out),
                   "--max-connections", "3", "--max-retries", "1", "--timeout", "8", "--json"]
        down = CliRunner().invoke(app, command)
        assert down.exit_code == 1, down.output
        lines = [line for line in down.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "openai/gpt-4o-mini" in lines[0] and "500" in lines[0] and lines[0].endswith(RESUME_HINT)
        assert "Traceback" not in down.output + down.stderr and not out.exists(), down.stderr[-3000:]
        finished = state.answered

        state.faults = None
        again = CliRunner().invoke(app, command)
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["cache_hits"] == finished and summary["model_calls"] == 21 - finished and summary["queries"] == 12
