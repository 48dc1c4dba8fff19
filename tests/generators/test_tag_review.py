"""The review loop: a built taxonomy out to a sheet, a filled sheet back in as training rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from generators.records import Taxonomy, TaxonomyNode
from generators.tag.review import (
    COLUMNS,
    TagReviewSheetError,
    read_sheet,
    rows_from_taxonomy,
    sheet_text,
    write_sheet,
)


def _dataset(folder: Path) -> Path:
    """A built dataset's taxonomy: one L1, two L2 topics with 3 L3 terms each."""
    domain = "Financial advice"
    l1 = TaxonomyNode(id="L1-a", level=1, label="Credit and debt")
    topics = [
        TaxonomyNode(id="L2-a", level=2, label="Payday loans", parent_id="L1-a"),
        TaxonomyNode(id="L2-b", level=2, label="Debt collection", parent_id="L1-a"),
    ]
    terms = [
        TaxonomyNode(id=f"L3-{t.id}-{i}", level=3, label=f"{t.label} term {i}", parent_id=t.id, rationale=f"reason {i}", origin="tag")
        for t in topics
        for i in (1, 2, 3)
    ]
    folder.mkdir(parents=True)
    (folder / "taxonomy.json").write_text(Taxonomy(domain=domain, nodes=[l1, *topics, *terms]).model_dump_json(), encoding="utf-8")
    (folder / "spec.yaml").write_text("name: x\ndomain: Financial advice\ndefinition: >-\n  Money questions.\n", encoding="utf-8")
    return folder


def _lines(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def _write(path: Path, lines: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(lines)
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    return path


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    rows = rows_from_taxonomy(_dataset(tmp_path / "dataset"))
    path = tmp_path / "review.csv"
    assert write_sheet(path, rows) == 6
    return path


def test_export_from_a_built_taxonomy(sheet: Path) -> None:
    lines = _lines(sheet)
    assert [line["term"] for line in lines[:3]] == ["Payday loans term 1", "Payday loans term 2", "Payday loans term 3"]
    first = lines[0]
    assert (first["domain"], first["definition"], first["l1"], first["l2"], first["country"], first["language"]) == (
        "Financial advice", "Money questions.", "Credit and debt", "Payday loans", "ALL", "en",
    )
    assert first["decision"] == "" and first["replacement"] == ""
    assert len({line["row_id"] for line in lines}) == 2


def test_import_applies_decisions(sheet: Path) -> None:
    lines = _lines(sheet)
    for line in lines:
        line["decision"] = "Agree"
    lines[1]["decision"] = "replace"  # case-insensitive
    lines[1]["replacement"] = "Rollover fees: paying to extend a loan"
    lines[4]["decision"] = "Unsure"
    result = read_sheet(_write(sheet, lines))
    assert len(result.rows) == 1 and result.replaced_terms == 1
    row = result.rows[0]
    assert row.l2 == "Payday loans" and row.origin == "reviewed"
    assert [(t.name, t.reason) for t in row.terms] == [
        ("Payday loans term 1", "reason 1"), ("Rollover fees", "paying to extend a loan"), ("Payday loans term 3", "reason 3"),
    ]
    assert [(d.l2, d.reason) for d in result.dropped] == [("Debt collection", "a reviewer was unsure of a term")]


def test_unreviewed_topics_are_dropped_not_guessed(sheet: Path) -> None:
    lines = _lines(sheet)
    for line in lines[:3]:
        line["decision"] = "Agree"
    result = read_sheet(_write(sheet, lines))
    assert [d.reason for d in result.dropped] == ["not every term has a decision"]


def test_a_replacement_that_restates_the_topic_drops_the_row(sheet: Path) -> None:
    lines = _lines(sheet)[:3]
    for line in lines:
        line["decision"] = "Agree"
    lines[0]["decision"], lines[0]["replacement"] = "Replace", "payday loans: the topic itself"
    result = read_sheet(_write(sheet, lines))
    assert not result.rows and "repeats" in result.dropped[0].reason


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"decision": "Agreed"}, r"review.csv row 2, column decision: 'Agreed' is not one of Agree, Replace, Unsure"),
        ({"decision": "Replace"}, r"review.csv row 2, column replacement: empty, but the decision is Replace"),
        ({"decision": "Agree", "replacement": "Other: x"}, r"review.csv row 2, column replacement: filled in, but the decision is Agree"),
        ({"term_number": "one"}, r"review.csv row 2, column term_number: 'one' is not a whole number"),
        ({"term": ""}, r"review.csv row 2, column term: empty"),
        ({"language": "spanish"}, r"review.csv row 2, column language"),
    ],
)
def test_malformed_rows_name_row_and_column(sheet: Path, edit: dict[str, str], message: str) -> None:
    lines = _lines(sheet)
    for line in lines:
        line["decision"] = "Agree"
    lines[0].update(edit)
    if "language" in edit:  # keep the group consistent so the row-level check is the one that fails
        for line in lines[1:3]:
            line["language"] = edit["language"]
    with pytest.raises(TagReviewSheetError, match=message):
        read_sheet(_write(sheet, lines))


def test_inconsistent_topic_fields(sheet: Path) -> None:
    lines = _lines(sheet)
    lines[2]["l2"] = "Something else"
    with pytest.raises(TagReviewSheetError, match=r"row 4, column l2: 'Something else' differs from 'Payday loans' on row 2"):
        read_sheet(_write(sheet, lines))


def test_missing_columns_and_bad_files(sheet: Path, tmp_path: Path) -> None:
    lines = _lines(sheet)
    without = tuple(c for c in COLUMNS if c not in ("decision", "replacement"))
    with pytest.raises(TagReviewSheetError, match=r"missing the columns decision, replacement"):
        read_sheet(_write(tmp_path / "short.csv", lines, without))
    with pytest.raises(TagReviewSheetError, match="cannot read review sheet"):
        read_sheet(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(TagReviewSheetError, match="is empty"):
        read_sheet(tmp_path / "empty.csv")
    (tmp_path / "latin1.csv").write_bytes(sheet_text([]).encode() + "x,\xe9\n".encode("latin-1"))
    with pytest.raises(TagReviewSheetError, match="not UTF-8"):
        read_sheet(tmp_path / "latin1.csv")


def test_generated_text_is_neutralised_and_restored_on_import(tmp_path: Path) -> None:
    from generators.tag.data import TagTerm
    from generators.tag.review import GeneratedRow

    terms = [
        TagTerm(name="=HYPERLINK(\"evil.example\")", reason="+cmd|' /C calc'!A0"),
        TagTerm(name="@SUM(1+1)", reason="-2+3"),
        TagTerm(name="=fees and charges", reason="'quoted reason"),
    ]
    row = GeneratedRow(domain="Financial advice", definition="=1+1", l1="Credit", l2="Payday loans", terms=terms)
    sheet = tmp_path / "review.csv"
    write_sheet(sheet, [row])
    raw = sheet.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM is kept
    lines = _lines(sheet)
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line.values())
    assert [line["term"] for line in lines] == ["'=HYPERLINK(\"evil.example\")", "'@SUM(1+1)", "'=fees and charges"]
    assert lines[2]["reason"] == "''quoted reason"
    for line in lines:
        line["decision"] = "Agree"
    # the reviewer's program writes the neutralised cells back as they were read
    result = read_sheet(_write(sheet, lines))
    assert result.dropped == [], result.dropped
    [imported] = result.rows
    assert [(term.name, term.reason) for term in imported.terms] == [(t.name, t.reason) for t in terms]
    assert imported.definition == "=1+1"
