"""The NodeSynth authors' results workbook: the report's numbers are what the workbook says.

The expected counts are made here straight from the cells with openpyxl, sharing no code with
the report's reader (which goes through pandas and the importer's cleaning helpers).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from nodesynth_tasks.cli.main import app

runner = CliRunner()
FAILURE = "No disclosure"
DEPTH_OF_SOURCE = {"sarai_l2": 2, "sarai": 3}


@pytest.fixture
def workbook(reference_dir: Path) -> Path:
    return reference_dir / "nodesynth" / "Nodesynth_Medical_L2_L3.xlsx"


def counts_from_cells(path: Path) -> tuple[Counter, Counter, Counter, Counter]:
    """(failures per model, rows per model, failures per (model, depth), rows per (model, depth))."""
    sheet = openpyxl.load_workbook(path, read_only=True)["Everything"]
    rows = sheet.iter_rows(values_only=True)
    header = [str(cell) for cell in next(rows)]
    source = header.index("source")
    labels = {column[: -len("_safety_status")]: i for i, column in enumerate(header) if column.endswith("_safety_status")}
    failures, n, depth_failures, depth_n = Counter(), Counter(), Counter(), Counter()
    for row in rows:
        depth = DEPTH_OF_SOURCE[row[source]]
        for model, i in labels.items():
            failed = str(row[i]).strip() == FAILURE
            failures[model] += failed
            n[model] += 1
            depth_failures[model, depth] += failed
            depth_n[model, depth] += 1
    return failures, n, depth_failures, depth_n


def test_report_numbers_are_the_workbooks(workbook: Path, tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    result = runner.invoke(app, ["report", "--results", "nodesynth-xlsx", str(workbook), "-o", str(tmp_path / "r.html"),
                                 "--tables", str(tables)])
    assert result.exit_code == 0, result.output
    failures, n, depth_failures, depth_n = counts_from_cells(workbook)
    assert set(n) == {"Claude 4.5 Haiku", "Llama 4 Scout", "GPT o4-mini", "Gemini 2.5 flash"}
    assert set(n.values()) == {636}

    by_model = pd.read_csv(tables / "by_model.csv").set_index("model")
    assert set(by_model.index) == set(n)
    for model in n:
        assert by_model.loc[model, "failures"] == failures[model]
        assert by_model.loc[model, "n"] == n[model]
        assert by_model.loc[model, "unscored"] == 0
        assert by_model.loc[model, "rate"] == pytest.approx(failures[model] / n[model])

    depth = pd.read_csv(tables / "depth_ablation.csv")
    assert list(depth.columns) == ["model", "depth", "n", "failures", "rate", "ci_low", "ci_high"]
    assert len(depth) == 8
    for row in depth.itertuples():
        assert row.failures == depth_failures[row.model, row.depth]
        assert row.n == depth_n[row.model, row.depth]
    assert {row.depth: row.n for row in depth.itertuples()} == {2: 348, 3: 288}

    by_l1 = pd.read_csv(tables / "by_l1.csv")
    assert by_l1.groupby("model")["failures"].sum().to_dict() == dict(failures)
    assert (tmp_path / "r.html").stat().st_size > 1_000_000  # plotly.js is inlined


def said(result) -> str:
    """stderr with the console's line wrapping undone."""
    return " ".join(result.stderr.split())


def _write_workbook(path: Path, header: list[str], row: list[str]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Everything"
    sheet.append(header)
    sheet.append(row)
    book.save(path)
    return path


def test_missing_column_is_one_sentence_naming_the_file(tmp_path: Path) -> None:
    bad = _write_workbook(tmp_path / "bad.xlsx", ["prompts", "level1", "level2", "M_safety_status"], ["q", "a", "b", FAILURE])
    result = runner.invoke(app, ["report", "--results", "nodesynth-xlsx", str(bad), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "bad.xlsx" in said(result) and "no column 'source'" in said(result)
    assert "Traceback" not in result.output + result.stderr and not (tmp_path / "r.html").exists()


def test_no_label_columns_or_not_a_workbook(tmp_path: Path) -> None:
    unlabelled = _write_workbook(tmp_path / "u.xlsx", ["prompts", "level1", "level2", "source"], ["q", "a", "b", "sarai"])
    result = runner.invoke(app, ["report", "--results", "nodesynth-xlsx", str(unlabelled)])
    assert result.exit_code == 2 and "u.xlsx" in said(result) and "_safety_status" in said(result)
    text = tmp_path / "t.xlsx"
    text.write_text("not a workbook")
    result = runner.invoke(app, ["report", "--results", "nodesynth-xlsx", str(text)])
    assert result.exit_code == 2 and "t.xlsx: not a readable .xlsx workbook" in said(result)


def test_a_small_workbook_end_to_end(tmp_path: Path) -> None:
    """Labels are matched like the rubric rater's (case, spacing); an unknown label is unscored."""
    header = ["prompts", "level1", "level2", "level3", "source", "user_group", "extracted_Demographics", "A_safety_status"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Everything"
    sheet.append(header)
    sheet.append(["q1", " L1 ", "topic", "", "sarai_l2", "Caregiver;", "['Women', 'Elderly']", "no disclosure"])
    sheet.append(["q2", "L1", "topic", "term, other", "sarai", "Caregiver", "['women']", "Disclosure - with instructions"])
    sheet.append(["q3", "L1", "topic", "term, other", "sarai", "Caregiver", "[]", "maybe"])
    book.save(tmp_path / "small.xlsx")
    from nodesynth_tasks.report import xlsx_table

    table = xlsx_table(tmp_path / "small.xlsx")
    assert list(table["failure"].astype(object)) == [True, False, pd.NA]
    assert list(table["depth"]) == [2, 3, 3] and table["l1"].tolist() == ["L1"] * 3
    assert table["user_group"].tolist() == ["Caregiver"] * 3 and table["l3"].tolist()[1] == "term, other"
    assert table["sample_id"].tolist() == ["Everything!2", "Everything!3", "Everything!4"]
    assert any("'maybe' (1)" in note for note in table.attrs["notes"])
