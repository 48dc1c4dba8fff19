"""The `nodesynth` CLI: builds with --json, and user errors as one sentence with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from nodesynth_tasks.cli.main import app
from tests.generators.test_build import SPEC, tidy_responder
from tests.scripted_model import register

runner = CliRunner()


def test_build_json_summary(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    model = register("cli", tidy_responder)
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(spec), "--model", model, "--out", str(out), "--json", "--max-connections", "4"])
    assert result.exit_code == 0, result.output
    [summary_line] = result.stdout.strip().splitlines()  # the summary alone: Inspect's banner goes to stderr
    summary = json.loads(summary_line)
    assert summary["queries"] == 12 and summary["rejects"] == 0
    assert summary["model_calls"] == 21 and summary["cache_hits"] == 0 and summary["seconds"] >= 0
    assert (out / "queries.jsonl").is_file()

    again = runner.invoke(app, ["build", str(spec), "--model", model, "--out", str(out), "--json"])
    rerun = json.loads(again.stdout.strip().splitlines()[-1])
    assert rerun["model_calls"] == 0 and rerun["cache_hits"] == 21


def test_bad_spec_is_one_sentence_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: Bad Name\ndomain: x\ndefinition: a definition here\n")
    result = runner.invoke(app, ["build", str(spec)])
    assert result.exit_code == 2
    assert "field 'name'" in result.stderr and "Traceback" not in result.output + result.stderr


def test_unknown_model_is_one_sentence_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    result = runner.invoke(app, ["build", str(spec), "--model", "nosuchprovider/x", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "nosuchprovider/x" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_bad_model_arg(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    result = runner.invoke(app, ["build", str(spec), "-M", "novalue"])
    assert result.exit_code == 2 and "expected key=value" in result.stderr


def test_tag_model_defaults_to_the_shipped_tag_for_an_embedded_generator() -> None:
    from generators.tag.adapter import SHIPPED_ADAPTER
    from nodesynth_tasks.cli.common import make_tag_model

    tag = make_tag_model(None, {}, "nodesynth/smollm2", 2)
    assert str(tag) == "nodesynth/smollm2"
    assert tag.model_args["adapter"] == str(SHIPPED_ADAPTER.resolve())
    assert tag.model_args["repetition_penalty"] == 1.15  # served as it was evaluated (training card)
    # a user's arg wins over the card's
    assert make_tag_model(None, {"repetition_penalty": 1.3}, "nodesynth/smollm2", 2).model_args["repetition_penalty"] == 1.3
    # the generator writes its own terms when asked, or when it is not the embedded model
    assert make_tag_model("generator", {}, "nodesynth/smollm2", 2) is None
    assert make_tag_model(None, {}, "openai/gpt-4o-mini", 2) is None
    named = make_tag_model("nodesynth/smollm2", {}, "openai/gpt-4o-mini", 2)
    assert "adapter" not in named.model_args


def test_build_manifest_names_the_tag_adapter(tmp_path: Path) -> None:
    from generators.tag.adapter import SHIPPED_ADAPTER

    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    model = register("cli-tag", tidy_responder)
    out = tmp_path / "out"
    # a scripted TaG with an adapter arg stands for the tuned model: the manifest must tell it apart
    result = runner.invoke(
        app,
        ["build", str(spec), "--model", model, "--tag-model", model, "--tag-model-arg", f"adapter={SHIPPED_ADAPTER}",
         "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["tag"] == f"{model} (adapter generators/tag/adapter)"
    assert manifest["models"]["generator"] == model
    nodes = json.loads((out / "taxonomy.json").read_text())["nodes"]
    assert {node["origin"] for node in nodes if node["level"] == 3} == {"tag"}


def test_a_long_error_stays_on_one_line(tmp_path: Path) -> None:
    spec = tmp_path / ("a-very-long-directory-name-" * 4) / "spec.yaml"
    spec.parent.mkdir()
    spec.write_text("name: Bad Name\ndomain: x\ndefinition: a definition here\n")
    result = runner.invoke(app, ["build", str(spec)])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()  # not wrapped at the terminal width
    assert str(spec) in line and "field 'name'" in line


def test_build_table_reports_the_quality_gates(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    result = runner.invoke(app, ["build", str(spec), "--model", register("cli-table", tidy_responder), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "kept 12 of 12: 0 near-duplicates, 0 wrong language, 0 assistant-voiced, 0 off-topic dropped" in " ".join(result.stdout.replace("│", " ").split())


def test_json_output_is_only_json_on_stdout(tmp_path: Path) -> None:
    """Inspect announces its hooks on stdout the first time a model is made; `--json` must stay parseable."""
    import subprocess
    import sys

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    done = subprocess.run([sys.executable, "-m", "nodesynth_tasks.cli.main", "build", str(spec), "--model", "nodesynth/smollm2",
                           "--dry-run", "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)  # the whole of stdout, not its last line
    assert plan["cells"] > 0
