"""Domain specs: the shipped ones load, bad ones fail with one sentence naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from generators.spec import SpecError, load_spec

SPECS = Path(__file__).resolve().parents[2] / "datasets" / "specs"
GOOD = "name: t\ndomain: Medical advice\ndefinition: Health questions people ask.\n"


@pytest.mark.parametrize("spec_file", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_specs_load(spec_file: Path) -> None:
    spec, text = load_spec(spec_file)
    assert spec.name == spec_file.stem and text.startswith(("#", "name"))


def test_required_shipped_domains() -> None:
    names = {p.stem for p in SPECS.glob("*.yaml")}
    assert {"medical_advice", "hate_speech", "education", "elections", "financial_advice"} <= names


def test_countries_and_languages_normalised(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD + "countries: [ALL, BR, mexico]\nlanguages: [EN, pt]\n")
    spec, _ = load_spec(path)
    assert spec.countries == ["ALL", "Brazil", "Mexico"] and spec.languages == ["en", "pt"]


def test_locales_pair_countries_with_their_languages(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD + "countries: [ALL, BR, India]\nlanguages: [en, pt]\nlocales: {brazil: [PT], IN: [en]}\n")
    spec, _ = load_spec(path)
    assert spec.locales == {"Brazil": ["pt"], "India": ["en"]}
    assert spec.languages_for("Brazil") == ["pt"] and spec.languages_for("India") == ["en"]
    assert spec.languages_for("ALL") == ["en", "pt"]  # not listed: every language


def test_shipped_specs_write_country_rows_in_the_country_language() -> None:
    spec, _ = load_spec(SPECS / "elections.yaml")
    assert spec.languages_for("Brazil") == ["pt"] and spec.languages_for("United States") == ["en"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GOOD + "countries: [ALL, BR]\nlanguages: [en, pt]\nlocales: {Mexico: [es]}\n",
         "field 'locales': 'Mexico' is not one of the spec's countries"),
        (GOOD + "countries: [ALL, BR]\nlanguages: [en, pt]\nlocales: {Brazil: [es]}\n",
         "field 'locales': 'Brazil' needs one or more of the spec's languages ['en', 'pt'], not ['es']"),
        (GOOD + "countries: [ALL, BR]\nlanguages: [en, pt]\nlocales: {BR: [pt], Brazil: [en]}\n",
         "field 'locales': 'Brazil' names Brazil, which is listed twice"),
        ("domain: x\ndefinition: Health questions people ask.\n", "field 'name': this required field is missing"),
        (GOOD + "countries: [Atlantis]\n", "field 'countries': unknown country 'Atlantis'"),
        (GOOD + "languages: [english]\n", "field 'languages': 'english' is not an ISO 639-1 language code"),
        (GOOD + "modalities: [text-to-smell]\n", "field 'modalities.0'"),
        (GOOD + "size: {max_l1: 0}\n", "field 'size.max_l1'"),
        (GOOD + "colour: blue\n", "field 'colour': unknown field"),
        ("name: t\n  domain: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "a spec must be a YAML mapping"),
    ],
)
def test_bad_specs(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    message = str(error.value)
    assert message.startswith(str(path)) and expected in message and "\n" not in message


def test_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.yaml")


def test_evidence_section(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(GOOD + "evidence: {corpus: some/dir, top_k: 4, verify: {min_quote_score: 95, llm: true}}\n")
    spec, _ = load_spec(path)
    assert spec.evidence is not None and spec.evidence.corpus == "some/dir" and spec.evidence.top_k == 4
    assert spec.evidence.retriever == "bm25" and spec.evidence.verify.min_quote_score == 95 and spec.evidence.verify.llm
    assert load_spec(SPECS / "demo.yaml")[0].evidence.corpus == "datasets/corpus/medical_advice"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("evidence: {retriever: google}\n", "field 'evidence.retriever'"),
        ("evidence: {top_k: 0}\n", "field 'evidence.top_k'"),
        ("evidence: {verify: {min_quote_score: 20}}\n", "field 'evidence.verify.min_quote_score'"),
        ("evidence: {corpus: x, search_providers: [tavily]}\n", "search_providers is only for retriever: web"),
        ("evidence: {corpus: x, colour: blue}\n", "field 'evidence.colour': unknown field"),
    ],
)
def test_bad_evidence_sections(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD + body)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert expected in str(error.value) and "\n" not in str(error.value)
