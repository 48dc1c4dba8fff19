"""`nodesynth build --corpus DIR`: grounding from the command line, and a bad corpus as one sentence, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nodesynth_tasks.cli.main import app
from tests.generators.test_build import SPEC
from tests.scripted_model import register

from .helpers import grounded_responder, write_corpus

runner = CliRunner()


@pytest.fixture(autouse=True)
def _index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODESYNTH_INDEX_DIR", str(tmp_path / "index"))


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    return path


def test_build_with_corpus(spec: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    model = register("cli-grounded", grounded_responder)
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(spec), "--model", model, "--corpus", str(corpus), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["evidence"]["kept"] > 0 and 0 < summary["evidence"]["failed_share"] < 1
    assert (out / "evidence.jsonl").read_text().strip()

    table = runner.invoke(app, ["build", str(spec), "--model", model, "--corpus", str(corpus), "--out", str(out)])
    assert table.exit_code == 0 and "evidence kept" in table.stdout


def test_extractor_model_flag(spec: Path, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    generator = register("cli-generator", grounded_responder)
    extractor = register("cli-extractor", grounded_responder)
    out = tmp_path / "out"
    args = ["build", str(spec), "--model", generator, "--extractor-model", extractor, "--corpus", str(corpus), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["extractor"] == extractor and manifest["models"]["generator"] == generator


@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_bad_corpus_is_one_sentence_exit_2(spec: Path, tmp_path: Path, kind: str) -> None:
    corpus = tmp_path / "corpus"
    if kind == "empty":
        corpus.mkdir()
    elif kind == "file":
        corpus.write_text("not a folder")
    result = runner.invoke(app, ["build", str(spec), "--model", "nosuchprovider/x", "--corpus", str(corpus), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert message.startswith("error:") and str(corpus.resolve()) in message.replace("\n", "")
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "o").exists()


def test_spec_corpus_is_found_relative_to_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    write_corpus(project / "datasets" / "corpus" / "tiny")
    specs = project / "datasets" / "specs"
    specs.mkdir(parents=True)
    spec = specs / "tiny.yaml"
    spec.write_text(SPEC + "evidence:\n  corpus: datasets/corpus/tiny\n")
    monkeypatch.chdir(tmp_path)  # not the project root: the path is found from the spec's folder upwards
    out = tmp_path / "out"
    result = runner.invoke(app, ["build", str(spec), "--model", register("cli-rel", grounded_responder), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["evidence"]["kept"] > 0
