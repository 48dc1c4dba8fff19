"""`nodesynth tag ...`: compile, the review loop, training on a tiny model, and one-sentence errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from generators.tag.data import CURATED_FILE, compile_sources, load_rows
from nodesynth_tasks.cli.main import app
from tests.generators.test_tag_review import _dataset

runner = CliRunner()


def _error(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output + result.stderr
    return " ".join(result.stderr.split())


def test_compile_writes_the_versioned_rows(tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    result = runner.invoke(app, ["tag", "compile", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] >= 600 and summary["language"].keys() >= {"en", "es", "pt", "id"}
    assert out.read_bytes() == CURATED_FILE.read_bytes()


def test_review_round_trip_and_errors(tmp_path: Path) -> None:
    sheet = tmp_path / "review.csv"
    result = runner.invoke(app, ["tag", "export-review", "--dataset", str(_dataset(tmp_path / "d")), "-o", str(sheet)])
    assert result.exit_code == 0, result.output
    lines = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8-sig"))))
    for line in lines:
        line["decision"] = "Agree"
    lines[5]["decision"] = "Unsure"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(lines[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    sheet.write_text(out.getvalue(), encoding="utf-8-sig")

    rows = tmp_path / "reviewed.jsonl"
    result = runner.invoke(app, ["tag", "import-review", str(sheet), "-o", str(rows), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 1 and json.loads(result.stdout)["dropped"] == 1
    assert load_rows(rows)[0].origin == "reviewed"

    lines[0]["decision"] = "yes"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(lines[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    sheet.write_text(out.getvalue(), encoding="utf-8-sig")
    message = _error(runner.invoke(app, ["tag", "import-review", str(sheet), "-o", str(rows)]))
    assert "review.csv row 2, column decision: 'yes' is not one of Agree, Replace, Unsure" in message


def test_user_errors_are_one_sentence(tmp_path: Path) -> None:
    assert "exactly one of --dataset" in _error(runner.invoke(app, ["tag", "export-review", "-o", str(tmp_path / "x.csv")]))
    assert "taxonomy.json" in _error(runner.invoke(app, ["tag", "export-review", "--dataset", str(tmp_path), "-o", str(tmp_path / "x.csv")]))
    assert "no readable training_card.json" in _error(runner.invoke(app, ["tag", "eval", "--adapter", str(tmp_path)]))
    assert "expected nodesynth/smollm2 or a local transformers model folder" in _error(
        runner.invoke(app, ["tag", "train", "--base", "hf/some-model", "--out", str(tmp_path / "a")])
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n")
    assert "bad.jsonl line 1" in _error(runner.invoke(app, ["tag", "train", "--data", str(bad), "--out", str(tmp_path / "a")]))


def test_train_on_a_tiny_model(tmp_path: Path) -> None:
    pytest.importorskip("peft")
    from tests.generators.tiny_model import make_tiny_model

    by_language: dict[str, list] = {}
    for row in compile_sources():
        by_language.setdefault(row.language, []).append(row)
    rows = [row for group in by_language.values() for row in group[:3]]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(row.model_dump_json() + "\n" for row in rows), encoding="utf-8")
    texts = [m.text for row in rows for m in row.messages()] + [row.target() for row in rows]
    base = make_tiny_model(tmp_path / "tiny", texts, layers=2)
    out = tmp_path / "adapter"
    result = runner.invoke(
        app,
        ["tag", "train", "--base", str(base), "--data", str(data), "--out", str(out), "--epochs", "1", "--layers", "1", "--rank", "2", "--json"],
    )
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout.strip().splitlines()[-1])
    assert card["rows"] == 12 and card["held_out_rows"] == 4 and card["serve"]["model_args"] == {"repetition_penalty": 1.15}
    assert (out / "adapter_model.safetensors").is_file()
