"""A dataset is written only into an absent or empty folder, or over a dataset this tool wrote."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from generators.artifact import OutputPathError, check_output_dir, new_build_id, new_canary, read_manifest, utc_now, write_dataset
from generators.records import Manifest, Taxonomy


def write(out: Path, name: str = "tiny") -> Manifest:
    manifest = Manifest(name=name, build_id=new_build_id(), created=utc_now(), domain="Medical advice", counts={}, canary=new_canary())
    return write_dataset(
        out, spec_text=f"name: {name}\n", taxonomy=Taxonomy(domain="Medical advice", nodes=[]), evidence=[], queries=[],
        rejects=[], manifest=manifest, spec_summary={},
    )


def test_absent_and_empty_folders_are_written(tmp_path: Path) -> None:
    assert check_output_dir(tmp_path / "new").replaces is None
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty").replaces is None
    write(tmp_path / "empty")
    assert read_manifest(tmp_path / "empty").name == "tiny"


def test_a_dataset_this_tool_wrote_is_replaced_atomically(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    first = write(out)
    assert check_output_dir(out).replaces == first.build_id
    second = write(out)
    assert read_manifest(out).build_id == second.build_id != first.build_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]  # no staging or previous folder left


def test_a_folder_that_is_not_a_dataset_is_refused_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "specs"
    out.mkdir()
    (out / "demo.yaml").write_text("name: demo\n")
    with pytest.raises(OutputPathError, match=r"--out .*specs: the folder holds demo.yaml and is not a dataset this tool wrote; choose"):
        check_output_dir(out)
    with pytest.raises(OutputPathError):
        write(out)
    assert (out / "demo.yaml").read_text() == "name: demo\n"


def test_another_programs_manifest_is_not_a_dataset(tmp_path: Path) -> None:
    out = tmp_path / "webapp"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"name": "My app", "short_name": "app", "start_url": "/"}))
    (out / "index.html").write_text("<html></html>")
    with pytest.raises(OutputPathError, match="holds index.html, manifest.json and is not a dataset"):
        check_output_dir(out)
    # a forged manifest with a foreign canary is not ours either
    (out / "manifest.json").write_text(
        Manifest(name="x", build_id="b", created="c", domain="d", counts={}, canary="someone else").model_dump_json()
    )
    with pytest.raises(OutputPathError):
        check_output_dir(out)


def test_a_file_someone_added_to_a_dataset_is_not_deleted(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    write(out)
    (out / "my_notes.txt").write_text("hours of work")
    with pytest.raises(OutputPathError, match="also holds my_notes.txt, which this tool did not write"):
        write(out)
    assert (out / "my_notes.txt").read_text() == "hours of work"


def test_the_current_folder_and_a_file_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "tiny")
    monkeypatch.chdir(tmp_path / "tiny")  # even a dataset: replacing it would pull the folder from under the shell
    with pytest.raises(OutputPathError, match="is the current folder"):
        check_output_dir(Path("."))
    with pytest.raises(OutputPathError, match="is the current folder"):
        check_output_dir(Path(os.getcwd()).parent)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputPathError, match="afile is a file, not a folder"):
        check_output_dir(tmp_path / "afile" / "sub")
    with pytest.raises(OutputPathError, match="afile: is a file, not a folder"):
        check_output_dir(tmp_path / "afile")
