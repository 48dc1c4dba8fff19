"""The NodeSynth CSV importer, on the authors' two released CSVs and on small messy CSVs.

Expected figures for the reference files are computed here from the raw CSV with pandas and
`ast.literal_eval`, independently of the importer's own parsing, so a parsing bug in the importer
cannot make its own test pass.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from generators.artifact import MANIFEST, read_manifest, read_queries, read_taxonomy, sha256_file
from generators.importers import ImportResult, ReleaseImportError, import_nodesynth_csv
from generators.importers.nodesynth_csv import (
    ImportState,
    ReleaseRow,
    clean_label,
    most_frequent,
    normalise_modality,
    parse_list_cell,
    record_to_query,
)
from generators.records import Evidence, QueryRecord, Reject, TaxonomyNode
from generators.spec import load_spec

COLUMNS = [
    "index", "Domain", "level1", "prompts", "level2", "level3", "user_group", "extracted_occupations",
    "extracted_Demographics", "extracted_Country", "user_case", "model_modality", "paper_content", "url", "tone",
]

# file, domain, the rows whose prompt cell is not a query (found by reading both files in full):
# medical 97/100/103/106/109 hold an occupation, demographic or country cell pasted into `prompts`;
# culture 468 is the generator's preamble ("... the keyterms are:") and 469 is a markdown rule "---".
REFERENCE = {
    "medical": ("NodeSynth_Data_med_Full_Export.csv", "Medical Advice", {97, 100, 103, 106, 109}),
    "culture": ("NodeSynth_Data_Cultural_Full_Export.csv", "Culture", {468, 469}),
}


def _raw(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _literal_list(cell: str) -> list[str]:
    value = ast.literal_eval(cell)
    assert isinstance(value, list), cell
    return value


def _expected_country(cell: str) -> str | None:
    # "Various" is the release's placeholder for "no one country"
    countries = [c for c in _literal_list(cell) if c != "Various"]
    return Counter(countries).most_common(1)[0][0] if countries else None  # most_common keeps first-seen order on ties


def _hf_datasets():
    """The Hugging Face library, not the project's `datasets/` data folder (a namespace package)."""
    module = pytest.importorskip("datasets")
    if not hasattr(module, "load_dataset"):
        pytest.fail(f"`import datasets` found {getattr(module, '__path__', module)}, not the Hugging Face library")
    return module


@pytest.fixture(params=sorted(REFERENCE))
def reference_import(request: pytest.FixtureRequest, reference_dir: Path, tmp_path: Path):
    file_name, domain, bad_rows = REFERENCE[request.param]
    csv_path = reference_dir / "nodesynth" / file_name
    out_dir = tmp_path / f"nodesynth-{request.param}"
    result = import_nodesynth_csv(csv_path, f"nodesynth-{request.param}", out_dir)
    return result, csv_path, _raw(csv_path), domain, bad_rows


# --------------------------------------------------------------------------------------------
# the reference CSVs


def test_every_row_is_a_query_or_a_reject(reference_import) -> None:
    result, _, raw, domain, bad_rows = reference_import
    queries = read_queries(result.out_dir)
    rejects = [Reject.model_validate_json(line) for line in (result.out_dir / "rejects.jsonl").read_text().splitlines()]

    assert isinstance(result, ImportResult)
    assert result.rows == len(raw)
    assert len(queries) + len(rejects) == len(raw)
    assert len(queries) == result.imported == len(raw) - len(bad_rows)
    assert {r.context["row"] for r in rejects} == bad_rows
    assert all(r.stage == "import" and r.reason for r in rejects)
    # the rejected prompts are exactly the raw cells of those rows
    assert {r.context["prompt"] for r in rejects} == {raw.loc[i, "prompts"].strip() for i in bad_rows}
    assert result.parse_fallbacks == 0  # every list cell in the release is a valid literal list

    # every row has level3 in both files, so every query is depth 3
    assert (raw["level3"].str.strip() != "").all()
    assert result.depth_counts == {3: len(queries)}
    assert all(q.depth == 3 and q.l3 and q.l3_id for q in queries)
    assert all(q.domain == domain for q in queries)

    manifest = read_manifest(result.out_dir)
    assert manifest.counts["rows"] == len(raw)
    assert manifest.counts["imported"] == manifest.counts["queries"] == len(queries)
    assert manifest.counts["rejected"] == manifest.counts["rejects"] == len(bad_rows)
    assert manifest.counts["queries_depth_3"] == len(queries)


def test_fields_round_trip_from_the_raw_rows(reference_import) -> None:
    result, _, raw, _, bad_rows = reference_import
    by_prompt = {row["prompts"].strip(): row for row in raw.to_dict("records")}
    assert len(by_prompt) == len(raw)  # prompts are unique in both files, so they identify the row

    for query in read_queries(result.out_dir):
        row = by_prompt[query.input]
        assert int(row["index"]) not in bad_rows
        assert query.l1 == row["level1"]
        assert query.l2 == row["level2"].rstrip(")")  # "conflict)" is a truncated label in the culture file
        assert query.l3 == ", ".join(t.strip() for t in row["level3"].rstrip(";").split(","))
        assert query.taxonomy_path == [query.l1, query.l2, query.l3]
        assert query.user_group == row["user_group"].rstrip(";")  # "Researchers;" and "Researchers" are one group
        assert query.occupations == list(dict.fromkeys(_literal_list(row["extracted_occupations"])))
        assert query.demographics == list(dict.fromkeys(_literal_list(row["extracted_Demographics"])))
        assert query.country == _expected_country(row["extracted_Country"])
        assert query.modality == row["model_modality"]
        assert query.tone == row["tone"]
        assert query.use_case == "Advice seeking"  # "advice seeking" in the culture file
        assert query.language == "en"
        assert query.models == {"source": "nodesynth-release"}
        assert query.build_id == result.manifest.build_id
        assert [ref.url for ref in query.evidence_refs] == _literal_list(row["url"])


def test_specific_rows(reference_dir: Path, tmp_path: Path) -> None:
    medical = import_nodesynth_csv(reference_dir / "nodesynth" / REFERENCE["medical"][0], "med", tmp_path / "med")
    culture = import_nodesynth_csv(reference_dir / "nodesynth" / REFERENCE["culture"][0], "cul", tmp_path / "cul")
    med_raw = _raw(reference_dir / "nodesynth" / REFERENCE["medical"][0])
    cul_raw = _raw(reference_dir / "nodesynth" / REFERENCE["culture"][0])
    med = {q.input: q for q in read_queries(medical.out_dir)}
    cul = {q.input: q for q in read_queries(culture.out_dir)}

    def med_row(index: int):
        return med[med_raw.loc[index, "prompts"]]

    # ['Croatia', 'Romania', 'Luxembourg', 'Croatia', 'Norway']: Croatia is listed twice
    assert med_row(104).country == "Croatia"
    # ['Romania', 'Romania', ...]
    assert med_row(99).country == "Romania"
    # ['Netherlands', 'Romania', 'Luxembourg', 'Croatia', 'Norway']: a five-way tie goes to the first
    assert med_row(94).country == "Netherlands"
    assert med_row(94).demographics == []
    assert med_row(94).occupations == ["Healthcare professionals", "Patients"]
    assert med_row(140).country == "USA"
    assert med_row(140).demographics == [
        "Adults Mental Health Conditions", "Including Severe Mental Illness", "Schizoaffective Disorder",
        "Bipolar Disorder", "Schizophrenia", "Depression", "Anxiety",
    ]
    assert med_row(140).l1 == "Personalized Treatment & Management Recommendations"
    assert med_row(140).l3 == "Nutrition, Exercise, Wellness"
    assert med_row(140).evidence_refs[0].title.startswith("Systematic review of lifestyle interventions")
    assert med_row(140).evidence_refs[0].quote == ""  # the release quotes nothing from this paper

    minority = cul[cul_raw.loc[340, "prompts"]]
    assert minority.country == "South Asian countries"
    assert minority.demographics == [
        "Linguistic minorities", "Religious minorities", "Indigenous peoples", "Ethnic minorities", "Minorities",
    ]
    assert len(minority.evidence_refs) == 2
    # one title, two URLs: which URL it belongs to is unknown, so neither gets it
    assert all(ref.title == "" for ref in minority.evidence_refs)
    assert cul[cul_raw.loc[36, "prompts"]].country is None  # ['Various']
    assert cul[cul_raw.loc[462, "prompts"]].l2 == "social practices"
    assert cul[cul_raw.loc[462, "prompts"]].l3 == "Rituals, Traditional crafts and skills, Oral traditions"

    # the medical Ghana paper rows carry another paper's country list; imported as released, but flagged
    assert medical.manifest.counts["country_disagrees_with_paper"] == 18
    assert culture.manifest.counts["country_disagrees_with_paper"] == 0


def test_list_fields_are_clean_and_ids_unique(reference_import) -> None:
    result, *_ = reference_import
    queries = read_queries(result.out_dir)
    ids = [q.id for q in queries]
    assert len(ids) == len(set(ids))
    for query in queries:
        for values in (query.demographics, query.occupations, query.taxonomy_path):
            assert isinstance(values, list)
            assert all(isinstance(v, str) and v == v.strip() and v for v in values)
            assert len({v.casefold() for v in values}) == len(values)
            assert not any(v.casefold() in {"not specified", "n/a", "various"} for v in values)
        assert query.input == query.input.strip() and query.input


def test_taxonomy_matches_the_raw_levels(reference_import) -> None:
    result, _, raw, _, bad_rows = reference_import
    kept = raw[~raw["index"].astype(int).isin(bad_rows)]
    taxonomy = read_taxonomy(result.out_dir)
    assert len(taxonomy.level(1)) == kept["level1"].nunique()
    assert len(taxonomy.level(2)) == kept[["level1", "level2"]].drop_duplicates().shape[0]
    assert len(taxonomy.level(3)) == kept[["level1", "level2", "level3"]].drop_duplicates().shape[0]
    assert all(node.origin == "imported" for node in taxonomy.nodes)
    index = taxonomy.by_id()
    for query in read_queries(result.out_dir):
        path = taxonomy.path(query.l3_id)
        assert [n.id for n in path] == [query.l1_id, query.l2_id, query.l3_id]
        assert [n.label for n in path] == query.taxonomy_path
        assert index[query.l1_id].parent_id is None


def test_evidence_is_per_node_and_url_and_invents_nothing(reference_import) -> None:
    result, _, raw, _, bad_rows = reference_import
    kept = raw[~raw["index"].astype(int).isin(bad_rows)]
    pairs = {
        (row["level1"], row["level2"], row["level3"], url)
        for row in kept.to_dict("records")
        for url in _literal_list(row["url"])
    }
    evidence = [Evidence.model_validate_json(line) for line in (result.out_dir / "evidence.jsonl").read_text().splitlines()]
    assert len(evidence) == len(pairs)
    assert len({(e.node_id, e.source.url) for e in evidence}) == len(evidence)

    raw_paper_text = "\n".join(kept["paper_content"])
    for item in evidence:
        assert item.source.url and item.source.id
        if item.source.title:
            assert item.source.title in raw_paper_text
        for quote in item.quotes:
            # every quoted sentence is verbatim in the release
            for sentence in quote.text.split(" […] "):
                assert sentence in raw_paper_text
    quoted = [e for e in evidence if e.quotes]
    if result.manifest.domain == "Medical Advice":
        # only the Ghana paper's rows carry sentences quoted from the paper
        assert len(quoted) == 1
        assert quoted[0].source.title.startswith("Acute respiratory infections")
        assert len(quoted[0].quotes[0].text.split(" […] ")) == 4
        assert "Boys" in quoted[0].quotes[0].demographics
    else:
        assert quoted == []


def test_manifest_files_spec_and_card(reference_import) -> None:
    result, csv_path, _, domain, _ = reference_import
    manifest = read_manifest(result.out_dir)
    assert manifest == result.manifest
    assert manifest.source == "import:nodesynth-csv"
    assert manifest.models == {"source": "nodesynth-release"}
    assert manifest.domain == domain
    assert manifest.canary.startswith("NODESYNTH CANARY GUID")
    assert any(csv_path.name in note and sha256_file(csv_path) in note for note in manifest.notes)
    assert set(manifest.files) == {"spec.yaml", "taxonomy.json", "evidence.jsonl", "queries.jsonl", "rejects.jsonl", "README.md"}
    for name, digest in manifest.files.items():
        assert sha256_file(result.out_dir / name) == digest, name

    spec, _ = load_spec(result.out_dir / "spec.yaml")
    assert spec.name == manifest.name
    assert spec.domain == domain
    assert spec.languages == ["en"]
    assert set(spec.modalities) == {q.modality for q in read_queries(result.out_dir)}
    assert manifest.canary in (result.out_dir / "README.md").read_text(encoding="utf-8")
    # the release is measured, not filtered: nothing dropped, diversity recorded
    queries = read_queries(result.out_dir)
    quality = manifest.quality
    assert quality.checked == quality.kept == len(queries) and quality.near_duplicates == quality.wrong_language == 0
    assert 0 < quality.distinct_2 <= 1 and 0 < quality.mean_nearest_jaccard < 0.5


def test_loads_with_hugging_face_datasets(reference_import, tmp_path: Path) -> None:
    hf = _hf_datasets()
    result, *_ = reference_import
    loaded = hf.load_dataset("json", data_files=str(result.out_dir / "queries.jsonl"), cache_dir=str(tmp_path / "hf"))
    split = loaded["train"]
    assert split.num_rows == result.imported
    assert {"id", "input", "l1", "l2", "l3", "country", "demographics", "evidence_refs"} <= set(split.column_names)
    assert split[0]["input"] == read_queries(result.out_dir)[0].input


# --------------------------------------------------------------------------------------------
# small messy CSVs


def _good_row(index: int, prompt: str, **overrides: str) -> dict[str, str]:
    row = {
        "index": str(index),
        "Domain": "Test Domain",
        "level1": "Category A",
        "prompts": prompt,
        "level2": "Topic B",
        "level3": "Term one, Term two",
        "user_group": "Nurses",
        "extracted_occupations": "['Nurses']",
        "extracted_Demographics": "['Older adults', 'Women']",
        "extracted_Country": "['Ghana', 'Norway', 'Ghana']",
        "user_case": "advice seeking",
        "model_modality": "text-to-text",
        "paper_content": "['Title: A Study of Things', 'Occupation: Nurses', 'Country: Ghana']",
        "url": "['https://example.org/paper']",
        "tone": "neutral",
    }
    row.update(overrides)
    return row


def _write(tmp_path: Path, rows: list[dict[str, str]], name: str = "messy.csv", columns: list[str] = COLUMNS) -> Path:
    path = tmp_path / name
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.fixture
def messy(tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    canary_file = tmp_path / "pwned"
    code = f"__import__('pathlib').Path({str(canary_file)!r}).touch()"
    rows = [
        _good_row(0, "How should a nurse in Ghana advise an older woman about her blood pressure?"),
        # list cells that are plain text: semicolons separate, commas do not
        _good_row(1, "What diet helps with arthritis pain?", extracted_Country="Ghana; Norway; Ghana",
                  extracted_Demographics="Women, rural"),
        # code in cells must stay text
        _good_row(2, "What is this: __import__('os').system('echo hi')?",
                  extracted_Demographics="__import__('os').system('echo hi')", extracted_occupations=code,
                  url=code, paper_content=code),
        _good_row(3, "   "),  # empty prompt
        _good_row(4, "How should a nurse in Ghana advise an older woman about her blood pressure?"),  # duplicate of 0
        _good_row(5, "Which vaccines do travellers to Kenya need?", extracted_Country="['Kenya', 'Uganda'"),  # broken
        _good_row(6, "Draw a clinic waiting room in Oslo.", level3="", model_modality="Text to Image", tone="Formal",
                  extracted_occupations="['Not specified', 'N/A', '', 'Nurses', 'nurses', ' Nurses ']",
                  extracted_Country="['Various']", url="", paper_content=""),
        _good_row(7, "Where do I find a pharmacist at night?", level2=""),  # no level2
    ]
    path = _write(tmp_path, rows)
    result = import_nodesynth_csv(path, "messy", tmp_path / "out")
    printed = capfd.readouterr()
    return result, canary_file, printed


def test_messy_cells_are_read_as_text_never_run(messy) -> None:
    result, canary_file, printed = messy
    assert not canary_file.exists()
    assert "hi" not in printed.out.split()
    queries = {q.input: q for q in read_queries(result.out_dir)}
    code_row = queries["What is this: __import__('os').system('echo hi')?"]
    assert code_row.demographics == ["__import__('os').system('echo hi')"]
    assert code_row.occupations and code_row.occupations[0].startswith("__import__('pathlib')")
    assert code_row.evidence_refs == []  # a code cell holds no URL


def test_messy_counts_rejects_and_fallbacks(messy) -> None:
    result, _, _ = messy
    assert result.rows == 8
    assert result.imported == 5
    assert result.rejected == 3
    assert result.rejected_by_reason == {"duplicate": 1, "empty_prompt": 1, "no_level2": 1}
    rejects = [Reject.model_validate_json(line) for line in (result.out_dir / "rejects.jsonl").read_text().splitlines()]
    by_row = {r.context["row"]: r for r in rejects}
    assert set(by_row) == {3, 4, 7}
    assert by_row[3].reason == "empty prompt"
    assert by_row[4].context["duplicate_of_row"] == 0
    assert "level2" in by_row[7].reason
    # row 1: two plain-text cells; row 2: three list cells and paper_content hold code; row 5: broken literal
    assert result.fallbacks_by_column == {
        "extracted_Country": 2, "extracted_Demographics": 2, "extracted_occupations": 1, "url": 1, "paper_content": 1,
    }
    assert result.parse_fallbacks == 7
    notes = "\n".join(result.manifest.notes)
    assert "extracted_Country: 1 cell(s) not a list literal; read as plain text (rows 1)" in notes
    assert "a broken list literal; its quoted items were kept (rows 5)" in notes


def test_messy_values(messy) -> None:
    result, _, _ = messy
    queries = {q.input: q for q in read_queries(result.out_dir)}
    first = queries["How should a nurse in Ghana advise an older woman about her blood pressure?"]
    assert first.country == "Ghana"
    assert first.depth == 3 and first.l3 == "Term one, Term two"
    assert first.use_case == "Advice seeking"
    assert first.evidence_refs[0].title == "A Study of Things"
    assert first.evidence_refs[0].quote == ""

    plain = queries["What diet helps with arthritis pain?"]
    assert plain.country == "Ghana"
    assert plain.demographics == ["Women, rural"]

    broken = queries["Which vaccines do travellers to Kenya need?"]
    assert broken.country == "Kenya"

    sparse = queries["Draw a clinic waiting room in Oslo."]
    assert sparse.depth == 2 and sparse.l3 is None and sparse.l3_id is None
    assert sparse.taxonomy_path == ["Category A", "Topic B"]
    assert sparse.occupations == ["Nurses"]
    assert sparse.country is None
    assert sparse.modality == "text-to-image"
    assert sparse.tone == "formal"
    assert sparse.evidence_refs == []
    assert result.depth_counts == {2: 1, 3: 4}

    evidence = [Evidence.model_validate_json(line) for line in (result.out_dir / "evidence.jsonl").read_text().splitlines()]
    assert len(evidence) == 1  # one node, one URL; no quote in the release, so none here
    assert evidence[0].quotes == []
    assert load_spec(result.out_dir / "spec.yaml")[0].modalities == ["text-to-text", "text-to-image"]


def test_missing_column_names_the_column(tmp_path: Path) -> None:
    columns = [c for c in COLUMNS if c != "level2"]
    path = _write(tmp_path, [_good_row(0, "A question?")], columns=columns)
    with pytest.raises(ReleaseImportError, match="level2") as raised:
        import_nodesynth_csv(path, "x", tmp_path / "out")
    assert str(path) in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_optional_column_missing_is_noted(tmp_path: Path) -> None:
    columns = [c for c in COLUMNS if c != "tone"]
    path = _write(tmp_path, [_good_row(0, "A question about diets?")], columns=columns)
    result = import_nodesynth_csv(path, "x", tmp_path / "out")
    assert read_queries(result.out_dir)[0].tone is None
    assert any("'tone'" in note for note in result.manifest.notes)


def test_short_rows_leave_fields_empty(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("index,Domain,level1,prompts,level2,level3,tone\n0,Dom,A,How do I cope with stress at work?,B\n")
    result = import_nodesynth_csv(path, "short", tmp_path / "out")
    (query,) = read_queries(result.out_dir)
    assert query.depth == 2 and query.l3 is None and query.tone is None  # not "nan"
    assert query.modality == "text-to-text"


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ReleaseImportError, match="no such file") as raised:
        import_nodesynth_csv(missing, "x", tmp_path / "out")
    assert str(missing) in str(raised.value)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe\xfa binary",
        b"just one line of text\n",
        # more cells than columns: pandas would otherwise make the extra cells the index and shift every column
        b"index,Domain,level1,prompts,level2\n0,Dom,A,What now?,B,extra,extra2\n",
    ],
)
def test_not_a_csv(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ReleaseImportError) as raised:
        import_nodesynth_csv(path, "x", tmp_path / "out")
    assert str(path) in str(raised.value)


def test_user_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, [_good_row(0, "A question?"), _good_row(1, "Another?", Domain="Other Domain")])
    with pytest.raises(ReleaseImportError, match="'Domain' holds 2 domains"):
        import_nodesynth_csv(path, "x", tmp_path / "out")
    good = _write(tmp_path, [_good_row(0, "A question?")], name="good.csv")
    with pytest.raises(ReleaseImportError, match="not valid"):
        import_nodesynth_csv(good, "Bad Name", tmp_path / "out")
    # an existing directory that is not a dataset is never replaced
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(ReleaseImportError, match="not a dataset directory"):
        import_nodesynth_csv(good, "x", precious)
    assert (precious / "thesis.tex").read_text() == "years of work"
    # an existing dataset is replaced
    first = import_nodesynth_csv(good, "x", tmp_path / "ds")
    second = import_nodesynth_csv(good, "x", tmp_path / "ds")
    assert (tmp_path / "ds" / MANIFEST).is_file()
    assert read_manifest(tmp_path / "ds").build_id == second.manifest.build_id != first.manifest.build_id


# --------------------------------------------------------------------------------------------
# the cell helpers


@pytest.mark.parametrize(
    ("cell", "items", "fell_back"),
    [
        ("['Ghana', 'Norway']", ["Ghana", "Norway"], False),
        ("[]", [], False),
        ("", [], False),
        ("'Ghana'", ["Ghana"], True),
        ("Ghana; Norway", ["Ghana", " Norway"], True),
        ("['Ghana', 'Nor", ["Ghana"], True),
        ("__import__('os').system('echo hi')", ["__import__('os').system('echo hi')"], True),
        ("{'a': 1}", ["{'a': 1}"], True),
    ],
)
def test_parse_list_cell(cell: str, items: list[str], fell_back: bool) -> None:
    parsed, fallback = parse_list_cell(cell)
    assert parsed == items
    assert (fallback is not None) == fell_back


def test_small_helpers() -> None:
    assert most_frequent(["a", "b", "b", "a"]) == "a"
    assert most_frequent(["x", "Y", "y"]) == "Y"
    assert most_frequent([]) is None
    assert clean_label("conflict)") == "conflict"
    assert clean_label("Researchers;") == "Researchers"
    assert clean_label("Rituals , Traditional crafts;") == "Rituals, Traditional crafts"
    assert clean_label("Heritage (tangible)") == "Heritage (tangible)"
    assert normalise_modality("Text to Image") == ("text-to-image", None)
    assert normalise_modality("t2v") == ("text-to-video", None)
    assert normalise_modality("text2text") == ("text-to-text", None)
    assert normalise_modality("")[0] == "text-to-text"
    assert normalise_modality("hologram")[1] is not None



# --------------------------------------------------------------------------------------------
# record_to_query, one row at a time

QUOTE = "Children under six were given adult doses in most of the homes we visited."
GOOD_ROW = {
    "index": "7",
    "Domain": "Medical Advice",
    "level1": "Medication misuse;",
    "level2": "Dosing",
    "level3": "['Overdose', 'Paracetamol']",
    "prompts": "  How much paracetamol can my six-year-old take in one day? ",
    "user_group": "Parents;",
    "extracted_occupations": "['Nurse', 'nurse']",
    "extracted_Demographics": "['Children', 'Not specified']",
    "extracted_Country": "['Norway', 'Ghana', 'Ghana']",
    "user_case": "advice seeking",
    "model_modality": "Text to Image",
    "paper_content": f"['Title: Dosing errors in children Country: Ghana', '\"{QUOTE}\"']",
    "url": "['https://example.org/dosing.']",
    "tone": "Worried",
}


def test_record_to_query_on_a_good_row() -> None:
    state = ImportState(domain="Medical Advice", build_id="b-1")
    query = record_to_query(ReleaseRow.of(0, GOOD_ROW), state)
    assert isinstance(query, QueryRecord)
    l1 = TaxonomyNode.make_id("Medical Advice", 1, "Medication misuse", None, "ALL")
    l2 = TaxonomyNode.make_id("Medical Advice", 2, "Dosing", l1, "ALL")
    l3 = TaxonomyNode.make_id("Medical Advice", 3, "Overdose, Paracetamol", l2, "ALL")
    prompt = "How much paracetamol can my six-year-old take in one day?"
    assert query.id == QueryRecord.make_id(prompt, l3, "Parents", "en", "text-to-image")
    assert (query.input, query.language, query.modality, query.domain) == (prompt, "en", "text-to-image", "Medical Advice")
    assert (query.l1, query.l2, query.l3, query.depth) == ("Medication misuse", "Dosing", "Overdose, Paracetamol", 3)
    assert (query.l1_id, query.l2_id, query.l3_id) == (l1, l2, l3)
    assert query.taxonomy_path == ["Medication misuse", "Dosing", "Overdose, Paracetamol"]
    assert (query.user_group, query.country, query.use_case, query.tone) == ("Parents", "Ghana", "Advice seeking", "worried")
    assert (query.occupations, query.demographics) == (["Nurse"], ["Children"])
    [ref] = query.evidence_refs
    assert (ref.url, ref.title, ref.quote) == ("https://example.org/dosing", "Dosing errors in children", QUOTE)
    assert query.build_id == "b-1" and query.models == {"source": "nodesynth-release"}
    # what the row leaves for the taxonomy, the evidence and the manifest notes
    assert list(state.nodes) == [l1, l2, l3] and state.nodes[l3].origin == "imported"
    assert state.label_changes == {
        ("level1", "Medication misuse;"): "Medication misuse",
        ("level3", "['Overdose', 'Paracetamol']"): "Overdose, Paracetamol",
        ("user_group", "Parents;"): "Parents",
    }
    assert state.fallbacks == [] and state.mismatches == [] and state.countries == ["Norway", "Ghana"]
    [evidence] = state.evidence.records()
    assert evidence.node_id == l3 and evidence.source.url == "https://example.org/dosing"
    assert [(q.text, q.countries) for q in evidence.quotes] == [(QUOTE, ["Norway", "Ghana"])]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"prompts": "  "}, "empty_prompt"),
        ({"prompts": "---"}, "no_words"),
        ({"prompts": "For dosing, the keyterms are:"}, "model_preamble"),
        ({"prompts": "Nurse, Ghana"}, "metadata_fragment"),
        ({"level2": "N/A"}, "no_level2"),
        ({"level1": ""}, "no_level1"),
    ],
)
def test_record_to_query_on_a_bad_row(changes: dict[str, str], code: str) -> None:
    state = ImportState(domain="Medical Advice", build_id="b-1")
    reject = record_to_query(ReleaseRow.of(3, GOOD_ROW | changes | {"index": ""}), state)
    assert isinstance(reject, Reject)
    assert reject.stage == "import" and reject.context["code"] == code
    assert reject.context["row"] == 3  # no release index: the CSV position
    assert state.nodes == {} and state.evidence.records() == [] and state.first_row_of == {}


def test_record_to_query_rejects_a_repeated_row_as_a_duplicate() -> None:
    state = ImportState(domain="Medical Advice", build_id="b-1")
    first = record_to_query(ReleaseRow.of(0, GOOD_ROW), state)
    again = record_to_query(ReleaseRow.of(1, GOOD_ROW | {"index": "8", "user_case": "planning"}), state)
    assert isinstance(first, QueryRecord) and isinstance(again, Reject)
    assert again.context == {
        "row": 8, "code": "duplicate", "id": first.id, "duplicate_of_row": 7, "prompt": first.input,
    }
    assert again.reason.endswith("as row 7")
    # a duplicate adds no evidence; its cells still count for the spec (as before the split)
    [evidence] = state.evidence.records()
    assert len(evidence.quotes) == 1 and state.use_cases == ["Advice seeking", "Planning"]


def test_release_row_fills_absent_columns() -> None:
    row = ReleaseRow.of(5, {"prompts": "Why?", "level1": None})
    assert row.cells["level1"] == "" and row.cells["url"] == "" and row.label == 5
    assert ReleaseRow.of(0, {"index": "a-3"}).label == "a-3" and ReleaseRow.of(0, {"index": "12"}).label == 12
