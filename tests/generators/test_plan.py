"""The build plan: cells, calls per stage and tokens from the spec alone, checked against real builds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from inspect_ai.model import GenerateConfig, get_model

from generators.build import BuildModels, build_dataset
from generators.plan import Prices, known_prices, plan_build
from generators.spec import load_spec
from tests.generators.test_build import SPEC
from tests.generators.test_provider_path import stub_responder
from tests.stub_server import openai_stub

WIDE = SPEC.replace("languages: [en]", "languages: [en, es]\nmodalities: [text-to-text, text-to-image]")


@pytest.fixture(autouse=True)
def _openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


@pytest.mark.parametrize("text", [SPEC, WIDE], ids=["tiny", "wide"])
def test_the_plan_matches_the_real_build(tmp_path: Path, text: str) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(text)
    spec, spec_text = load_spec(spec_file)
    plan = plan_build(spec)
    with openai_stub(stub_responder) as (base_url, state):
        model = get_model("openai/gpt-4o-mini", base_url=base_url, config=GenerateConfig(max_connections=8), memoize=False)
        summary = asyncio.run(build_dataset(spec, spec_text, BuildModels(model), tmp_path / "out"))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert plan.cells == manifest["counts"]["query_cells"]
    assert abs(plan.model_calls - summary.model_calls) <= 0.25 * summary.model_calls
    assert abs(plan.model_calls - state.requests) <= 0.25 * state.requests
    for stage, calls in summary.calls_by_stage.items():
        assert plan.stages[stage].calls == calls, stage


def test_cells_multiply_the_spec_fields(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(WIDE.replace("queries_per_cell: 1", "queries_per_cell: 3").replace("[ALL]", "[ALL, India]"))
    spec, _ = load_spec(spec_file)
    plan = plan_build(spec, prices=Prices(input=2.0, output=8.0))
    # (2 L1 x 2 L2 x (2 L3 + the L2 node itself)) x 1 group x 2 languages x 2 modalities, per country
    assert plan.cells == 2 * 48 and plan.queries == 3 * 96
    assert plan.stages["l1"].calls == 2 and plan.stages["l3"].calls == 8 and plan.stages["queries"].calls == 96
    assert plan.tokens["input"] > plan.stages["queries"].calls * 50 and plan.tokens["output"] == sum(
        stage.output_tokens for stage in plan.stages.values()
    )
    assert plan.cost == pytest.approx((plan.tokens["input"] * 2.0 + plan.tokens["output"] * 8.0) / 1e6)


def test_prices_come_from_the_flags_or_from_inspect() -> None:
    assert known_prices("openai/whatever", 1.0, None) == Prices(input=1.0, output=0.0)
    assert known_prices("nosuchprovider/nosuchmodel") is None


def test_summary_and_manifest_account_calls_tokens_and_cost(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SPEC)
    spec, spec_text = load_spec(spec_file)
    with openai_stub(stub_responder) as (base_url, _):
        model = get_model("openai/gpt-4o-mini", base_url=base_url, config=GenerateConfig(max_connections=8), memoize=False)
        summary = asyncio.run(build_dataset(spec, spec_text, BuildModels(model), tmp_path / "out",
                                            prices={"openai/gpt-4o-mini": Prices(input=1.0, output=4.0)}))
    # the stub reports 20 input and 7 output tokens per call
    assert summary.calls_by_stage == {"l1": 1, "l2": 2, "l3": 4, "user_groups": 2, "queries": 12}
    assert summary.usage_by_role["generator"]["openai/gpt-4o-mini"].input_tokens == 17 * 20
    assert summary.usage_by_role["tag"]["openai/gpt-4o-mini"].output_tokens == 4 * 7
    assert summary.estimated_cost == pytest.approx((21 * 20 * 1.0 + 21 * 7 * 4.0) / 1e6)
    assert summary.batch is None and summary.retried == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["estimated_cost"] == pytest.approx(summary.estimated_cost) and manifest["calls_by_stage"] == summary.calls_by_stage
