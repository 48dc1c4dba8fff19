"""`nodesynth prompts` and `nodesynth build --prompt-profile`: what a model will be asked, and the profile recorded."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from generators.artifact import read_manifest
from nodesynth_tasks.cli.main import app
from tests.capable_model import CapableModel
from tests.generators.test_build import SPEC
from tests.scripted_model import CALLS, register

runner = CliRunner()


def test_prompts_prints_each_stage_with_no_model_call(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC.replace("prompt_profile: compact", "tones: [formal]\nprompt_profile: auto") + "evidence: {corpus: nowhere}\n")
    model = register("never-called", CapableModel().reply)
    result = runner.invoke(app, ["prompts", str(spec), "--model", model])
    assert result.exit_code == 0, result.output
    headers = [line for line in result.stdout.splitlines() if line.startswith("=== ")]
    assert [h.split(" · ")[0] for h in headers] == [
        "=== l1_categories", "=== l2_topics", "=== l3_terms", "=== user_groups", "=== evidence_extract", "=== evidence_support",
        "=== query",
    ]
    assert all(" · full profile · line format · " in h for h in headers)  # scripted: no response_schema
    query = result.stdout.split("=== query")[1]
    for text in ("--- system ---", "--- worked example 1 of 1: user ---", "--- request ---", "Use case: Advice seeking.",
                 "Definition: Health questions people ask an AI assistant", "Tone: formal.", '"<verified quote>"'):
        assert text in query
    assert CALLS["never-called"] == 0

    compact = runner.invoke(app, ["prompts", str(spec), "--stage", "queries", "--profile", "compact", "--not-grounded"])
    assert compact.exit_code == 0 and compact.stdout.count("=== ") == 1 and " · compact profile · " in compact.stdout
    assert "Write it in a formal tone. Write it in English, 1-2 sentences." in compact.stdout


def test_prompts_with_a_bad_template_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "query.yaml").write_text("system: s\nrequest: '{user_group} {language_name} {postcode}'\n")
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC + "prompts: mine\n")
    result = runner.invoke(app, ["prompts", str(spec), "--stage", "queries"])
    assert result.exit_code == 2
    assert "mine/query.yaml: unknown variable '{postcode}'" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_build_prompt_profile_flag_overrides_the_spec(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)  # prompt_profile: compact
    capable = CapableModel()
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["build", str(spec), "--model", register("flag", capable.reply), "--out", str(out), "--json", "--prompt-profile", "full"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["prompt_profile"] == "full"
    manifest = read_manifest(out)
    assert manifest.prompt_profile == "full" and manifest.prompts.profile == "full"  # type: ignore[union-attr]
    assert any("Use case: Advice seeking." in request for _, request in capable.requests)
