"""Output files: refused before any work when they cannot be written, and always written whole."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from nodesynth_common.errors import NodeSynthError
from nodesynth_common.output_files import (
    OutputPathError,
    check_output_file,
    check_output_folder,
    write_text_atomic,
)


def test_a_folder_where_a_file_is_expected_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match=r"-o .*: is a folder; give a file name") as caught:
        check_output_file(tmp_path, "-o")
    assert isinstance(caught.value, NodeSynthError)
    assert "\n" not in str(caught.value)


def test_a_parent_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputPathError, match=r"afile is a file, not a folder; choose another -o"):
        check_output_file(tmp_path / "afile" / "sub" / "out.csv", "-o")
    with pytest.raises(OutputPathError, match=r"--tables .*afile: is a file, not a folder"):
        check_output_folder(tmp_path / "afile", "--tables")


def test_a_sheet_someone_may_have_filled_is_not_overwritten(tmp_path: Path) -> None:
    sheet = tmp_path / "review.csv"
    assert check_output_file(sheet, "-o", overwrite=False) == sheet
    sheet.write_text("filled")
    with pytest.raises(OutputPathError, match="already exists.*--force"):
        check_output_file(sheet, "-o", overwrite=False)
    assert check_output_file(sheet, "-o") == sheet


def test_concurrent_writers_each_leave_a_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    pages = [f"<html>{str(n) * 200_000}</html>" for n in range(6)]
    errors: list[BaseException] = []

    def write(page: str) -> None:
        try:
            for _ in range(5):
                write_text_atomic(target, page)
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=write, args=(page,)) for page in pages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_text() in pages
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
