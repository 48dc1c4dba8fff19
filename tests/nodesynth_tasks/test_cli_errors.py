"""The one error handler of the `nodesynth` app: every command's NodeSynthError is one literal line, exit 2."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from nodesynth_common.errors import NodeSynthError
from nodesynth_tasks.cli import common
from nodesynth_tasks.cli.main import app

runner = CliRunner()
CLI_DIR = Path(common.__file__).parent


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A colour terminal on stderr: markup or highlighting of the message would show as escape codes."""
    monkeypatch.setattr(common, "stderr", Console(stderr=True, force_terminal=True, color_system="truecolor", width=80))


def test_a_path_with_markup_brackets_prints_literally(tmp_path: Path, terminal: None) -> None:
    path = tmp_path / "a[/x]b"  # as rich markup, "[/x]" is a closing tag that matches nothing
    result = runner.invoke(app, ["triage", str(path)])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert f"{path}: no such log file." in line
    assert "\x1b[" in line.split(str(path))[0]  # "error:" is styled: the console is a colour terminal


def test_every_line_break_character_in_user_text_stays_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # a column name or path may hold any character str.splitlines() breaks on (hypothesis found U+0085)
    common.print_error("columns: a\nb\rc\x0bd\x0ce\x1cf\x1dg\x1eh\x85i\u2028j\u2029k")
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == "error: columns: a\\nb\\rc\\x0bd\\x0ce\\x1cf\\x1dg\\x1eh\\x85i\\u2028j\\u2029k"


def test_a_pattern_prints_without_highlighting(terminal: None) -> None:
    result = runner.invoke(app, ["report", "--results", "^*$", "x.xlsx"])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    # highlighting would colour the quoted string and the parentheses: no escape code inside the message
    assert line.endswith("error:\x1b[0m --results '^*$': unknown format (known: nodesynth-xlsx).")


def test_a_long_message_is_one_line_on_a_narrow_terminal(tmp_path: Path, terminal: None) -> None:
    path = tmp_path / ("long-name-" * 12)
    result = runner.invoke(app, ["calibrate", str(path), "--scorer", "refusal"])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert len(line) > 80 and f"{path}: no such file." in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "nodesynth-csv", "nowhere.csv", "--name", "x"], "nowhere.csv"),  # a sub-app's command
        (["tag", "import-review", "nowhere.csv", "-o", "out.jsonl"], "nowhere.csv"),
        (["tag", "export-review", "-o", "out.csv"], "give exactly one of --dataset"),
        (["tag", "train", "-o", "runs/x", "--base", "no/such/folder", "--data", "nowhere.jsonl"], "nowhere.jsonl"),
        (["novelty", "nowhere.jsonl", "--against", "also-nowhere.csv"], "nowhere.jsonl"),
        (["calibrate", "x.csv", "--scorer", "refusal"], "x.csv: no such file."),
        (["build", "nowhere.yaml"], "nowhere.yaml"),
    ],
)
def test_every_command_and_sub_command_gets_the_handler(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_detected_errors_are_named_node_synth_errors() -> None:
    with pytest.raises(common.ModelArgError, match="expected key=value"):
        common.parse_model_args(["novalue"], "-M")
    with pytest.raises(common.ModelUnavailableError, match="'nosuchprovider/x' for the grader role"):
        common.make_model("nosuchprovider/x", {}, None, "grader")
    errors = [value for value in vars(common).values() if isinstance(value, type) and issubclass(value, Exception)]
    assert len(errors) >= 7 and all(issubclass(error, NodeSynthError) for error in errors)


def test_a_bug_is_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    import generators.novelty

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, not a user error")

    monkeypatch.setattr(generators.novelty, "read_texts", broken)
    result = runner.invoke(app, ["novelty", "q.jsonl", "--against", "r.csv"])
    assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)
    assert "error:" not in result.stderr


def test_no_command_module_imports_main() -> None:
    for module in CLI_DIR.glob("*.py"):
        if module.name in ("main.py", "__main__.py"):
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"main", "nodesynth_tasks.cli.main"}, module.name


def test_python_dash_m_runs_the_app_with_its_handler(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "nodesynth_tasks.cli", "triage", "missing.eval"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: missing.eval: no such log file."
    assert result.stdout == ""
