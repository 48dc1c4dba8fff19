"""Nothing a user owns is lost: every output path is checked before any model call, in one line (issue 14)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from generators.artifact import new_build_id, new_canary, utc_now
from generators.records import Manifest
from nodesynth_tasks.cli.main import app
from tests.tiny_log import make_tiny_log

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "datasets" / "specs" / "demo.yaml"
NO_MODEL = "nosuchprovider/none"  # had the command got as far as creating a model, it would say "cannot use model"


def refused(args: list[str | Path]) -> str:
    """Run the command; it must exit 2 with one line on stderr, which is returned."""
    result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 2, result.output + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "cannot use model" not in line, line
    return line


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_log(tmp_path_factory.mktemp("logs"))


# --- build and import: folders -------------------------------------------------------------------------


def test_build_into_a_folder_that_is_not_a_dataset_is_refused_before_any_model(tmp_path: Path) -> None:
    out = tmp_path / "project"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    before = snapshot(out)
    line = refused(["build", SPEC, "-m", NO_MODEL, "--out", out])
    assert line == f"error: --out {out}: the folder holds thesis.tex and is not a dataset this tool wrote; choose another --out."
    assert snapshot(out) == before


def test_build_into_the_current_folder_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "mine.yaml"
    shutil.copy(SPEC, spec)
    monkeypatch.chdir(tmp_path)
    for out in (str(tmp_path), "."):  # --out "$PWD" and --out .
        assert "is the current folder" in refused(["build", spec, "-m", NO_MODEL, "--out", out])
    assert spec.read_bytes() == SPEC.read_bytes()


@pytest.mark.parametrize("name", ["specs", "corpus", "tag"])
def test_a_spec_named_like_a_repository_folder_does_not_wipe_it(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "datasets" / name, tmp_path / "datasets" / name)
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(SPEC.read_text().replace("name: demo", f"name: {name}"))
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path / "datasets")
    line = refused(["build", spec, "-m", NO_MODEL])  # default --out: datasets/<name>
    assert f"--out datasets/{name}: the folder holds" in line and "choose another --out" in line
    assert snapshot(tmp_path / "datasets") == before


def test_build_out_under_a_file_is_refused_before_any_model(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    line = refused(["build", SPEC, "-m", NO_MODEL, "--out", tmp_path / "afile" / "sub"])
    assert line.endswith(f"{tmp_path / 'afile'} is a file, not a folder; choose another --out.")


def test_build_over_a_dataset_this_tool_wrote_gets_as_far_as_the_model(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    manifest = Manifest(name="demo", build_id=new_build_id(), created=utc_now(), domain="d", counts={}, canary=new_canary())
    (out / "manifest.json").write_text(manifest.model_dump_json())
    result = runner.invoke(app, ["build", str(SPEC), "-m", NO_MODEL, "--out", str(out)])
    assert result.exit_code == 2 and "cannot use model 'nosuchprovider/none'" in result.stderr  # the folder was accepted


def test_import_refuses_another_programs_manifest_before_reading(tmp_path: Path) -> None:
    webapp = tmp_path / "webapp"
    webapp.mkdir()
    (webapp / "manifest.json").write_text(json.dumps({"name": "My PWA", "start_url": "/"}))
    line = refused(["import", "nodesynth-csv", tmp_path / "absent.csv", "--name", "x", "--out", webapp])
    assert "webapp: the folder holds manifest.json and is not a dataset this tool wrote" in line


# --- triage: the reviewer's sheet, the log ----------------------------------------------------------------


def test_triage_never_replaces_a_sheet_without_force(log_file: Path, tmp_path: Path) -> None:
    sheet = tmp_path / "review.csv"
    assert runner.invoke(app, ["triage", str(log_file), "-o", str(sheet)]).exit_code == 0
    sheet.write_text(sheet.read_text() + "filled by a reviewer\n")
    filled = sheet.read_bytes()
    line = refused(["triage", log_file, "-o", sheet])
    assert line == f"error: -o {sheet}: already exists and may hold someone's work; choose another -o or pass --force."
    assert sheet.read_bytes() == filled
    result = runner.invoke(app, ["triage", str(log_file), "-o", str(sheet), "--force"])
    assert result.exit_code == 0 and sheet.read_bytes() != filled
    # the default sheet beside the log is protected the same way
    assert runner.invoke(app, ["triage", str(log_file)]).exit_code == 0
    assert "already exists" in refused(["triage", log_file])
    log_file.with_suffix(".review.csv").unlink()


def test_triage_output_errors_are_one_line(log_file: Path, tmp_path: Path) -> None:
    assert f"-o {tmp_path}: is a folder; give a file name" in refused(["triage", log_file, "-o", tmp_path])
    sheet = tmp_path / "review.csv"
    assert runner.invoke(app, ["triage", str(log_file), "-o", str(sheet)]).exit_code == 0
    before = log_file.read_bytes()
    line = refused(["triage", log_file, "--import", sheet, "--log-out", tmp_path / "edited.txt"])
    assert line == f"error: --log-out {tmp_path / 'edited.txt'}: must end in .eval or .json (the suffix chooses the log format)."
    (tmp_path / "d.eval").mkdir()
    assert "d.eval: is a folder" in refused(["triage", log_file, "--import", sheet, "--log-out", tmp_path / "d.eval"])
    assert log_file.read_bytes() == before


# --- the other commands that write ------------------------------------------------------------------------


def test_novelty_and_report_outputs_are_checked_first(log_file: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"input": "How much paracetamol for a child?"}\n')
    assert "is a folder" in refused(["novelty", queries, "--against", queries, "-o", tmp_path])
    # checked before the (possibly huge) logs are read: the log does not even exist here
    assert f"-o {tmp_path}: is a folder" in refused(["report", tmp_path / "absent.eval", "-o", tmp_path])
    (tmp_path / "afile").write_text("x")
    assert "afile: is a file, not a folder; choose another --tables" in refused(
        ["report", tmp_path / "absent.eval", "-o", tmp_path / "r.html", "--tables", tmp_path / "afile"])


def test_a_path_with_markup_prints_literally(tmp_path: Path) -> None:
    folder = tmp_path / "a[/x]b[bold]"  # "[/x]" also makes a sub-folder: a[ holding x]b[bold]
    folder.mkdir(parents=True)
    assert f"-o {folder}: is a folder" in refused(["novelty", "q.jsonl", "--against", "q.jsonl", "-o", folder])


def test_tag_commands_check_their_outputs(tmp_path: Path) -> None:
    from tests.generators.test_tag_review import _dataset

    dataset = _dataset(tmp_path / "d")
    assert "is a folder" in refused(["tag", "export-review", "--dataset", dataset, "-o", tmp_path])
    sheet = tmp_path / "review.csv"
    assert runner.invoke(app, ["tag", "export-review", "--dataset", str(dataset), "-o", str(sheet)]).exit_code == 0
    assert "already exists and may hold someone's work" in refused(["tag", "export-review", "--dataset", dataset, "-o", sheet])
    assert runner.invoke(app, ["tag", "export-review", "--dataset", str(dataset), "-o", str(sheet), "--force"]).exit_code == 0
    assert "is a folder" in refused(["tag", "import-review", sheet, "-o", tmp_path])
    (tmp_path / "afile").write_text("x")
    assert "afile: is a file, not a folder; choose another --out" in refused(["tag", "train", "--out", tmp_path / "afile"])
    assert "is a folder" in refused(["tag", "compile", "--out", tmp_path])


@pytest.mark.parametrize("command", ["train", "eval"])
def test_binary_tag_data_is_one_line(command: str, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_bytes(bytes(range(256)) * 4)
    args = ["tag", command, "--data", data] + (["--out", tmp_path / "adapter"] if command == "train" else [])
    assert f"training data {data} is not UTF-8 text (a binary file?)" in refused(args)


def test_a_line_break_in_user_text_stays_on_one_line(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text('"a\nb",c\n1,2\n')
    line = refused(["calibrate", labels, "--scorer", "refusal", "--columns", "text=completion,label=final_label"])
    assert "a\\nb" in line


def test_concurrent_reports_to_one_file_each_leave_a_whole_page(log_file: Path, tmp_path: Path) -> None:
    from nodesynth_tasks.report import tidy_table, write_report

    table = tidy_table([log_file])
    out = tmp_path / "report.html"
    errors: list[BaseException] = []

    def write(title: str) -> None:
        try:
            write_report(table, out, title=title, tables_dir=tmp_path / "tables")
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=write, args=(f"writer {n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    page = out.read_text(encoding="utf-8")
    assert page.count("</html>") == 1 and page.rstrip().endswith("</html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "tables"]
    assert not [p.name for p in (tmp_path / "tables").iterdir() if p.name.startswith(".")]
