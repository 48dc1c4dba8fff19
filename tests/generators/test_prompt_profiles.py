"""Prompt profiles: the full query request carries every field of its cell; tones multiply cells;
JSON replies through response_schema (with fallback and retries); a bad prompts folder fails first."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.model import get_model

from generators.artifact import read_manifest, read_queries, read_taxonomy
from generators.build import BuildModels, build_dataset
from generators.profiles import PromptError, Prompts, resolve_profile
from generators.queries import QueryCell, query_cells, query_values
from generators.records import QueryRecord, Taxonomy, TaxonomyNode, UserGroup
from generators.spec import DomainSpec, language_name, load_spec
from nodesynth_tasks.dataset import record_to_sample
from tests.capable_model import CapableModel
from tests.scripted_model import CALLS, register
from tests.stub_server import openai_stub

SPEC = """
name: rich
domain: Medical advice
definition: Health questions people ask an AI assistant about medicines and care.
examples: [liquid medicine doses]
countries: [ALL]
languages: [en]
use_case: Advice seeking
modalities: [text-to-text, text-to-image]
size: {max_l1: 1, max_l2_per_l1: 2, l3_per_l2: 2, user_groups_per_l1: 2, queries_per_cell: 1}
rubric: medical_disclosure
quality: {near_duplicate_jaccard: null}  # the scripted messages share a template; these tests are about requests
"""
CORPUS = {
    "older.md": "---\ntitle: Polypharmacy note\nurl: https://example.org/older\n---\n"
    "Older adults often take five or more medicines a day. Primary health care teams rarely review their pills.\n",
    "children.md": "---\ntitle: Liquid dosing note\n---\n"
    "Many children under five are given the wrong dose of liquid medicine at home.\n",
    "nurses.md": "---\ntitle: Night shift note\n---\n"
    "Nurses working night shifts report more medication errors than day staff.\n",
}
TONES = ["formal", "emotional"]


@pytest.fixture(autouse=True)
def _index_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODESYNTH_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")


def write_spec(tmp_path: Path, *, grounded: bool, tones: list[str] | None = None, extra: str = "") -> Path:
    text = SPEC + extra
    if tones:
        text += f"tones: {json.dumps(tones)}\n"
    if grounded:
        corpus = tmp_path / "corpus"
        corpus.mkdir(exist_ok=True)
        for name, body in CORPUS.items():
            (corpus / name).write_text(body, encoding="utf-8")
        text += f"evidence:\n  corpus: {corpus}\n  top_k: 3\n"
    path = tmp_path / "rich.yaml"
    path.write_text(text)
    return path


def build(spec_path: Path, model_name: str, out: Path, **model_args: Any):  # type: ignore[no-untyped-def]
    spec, text = load_spec(spec_path)
    return asyncio.run(build_dataset(spec, text, BuildModels(get_model(model_name, memoize=False, **model_args)), out))


def query_requests(capable: CapableModel) -> list[str]:
    return [request for system, request in capable.requests if "write realistic messages" in system]


def expected_fragments(record: QueryRecord, taxonomy: Taxonomy, spec: DomainSpec) -> dict[str, str]:
    """Each field the full query request must carry for this record's cell, as the text it shows."""
    index = taxonomy.by_id()
    term = index[record.l3_id or record.l2_id or ""]
    fields = {
        "definition": spec.definition.rstrip("."),
        "use case": f"Use case: {spec.use_case}.",
        "taxonomy path": " > ".join(record.taxonomy_path),
        "term and rationale": f"Term: {term.label}: {term.rationale}",
        "user group": "Person: " + record.user_group[0].lower() + record.user_group[1:],  # type: ignore[index]
        "modality task": {"text-to-text": "AI assistant", "text-to-image": "AI image generator"}[record.modality],
        "language": f"Write 1-3 sentences in {language_name(record.language)}",
    }
    if record.demographics:
        fields["demographics"] = f"Demographics: {', '.join(record.demographics)}."
    if record.occupations:
        fields["occupations"] = f"Occupations: {', '.join(record.occupations)}."
    for i, ref in enumerate(record.evidence_refs):
        fields[f"evidence quote {i}"] = f'"{ref.quote}" (source: {ref.title or ref.source_id}'
    if record.tone:
        fields["tone"] = f"Tone: {record.tone}."
    return fields


@pytest.mark.parametrize("grounded", [False, True], ids=["not-grounded", "grounded"])
@pytest.mark.parametrize("tones", [None, TONES], ids=["no-tone", "tones"])
def test_full_query_request_carries_every_field_of_its_cell(tmp_path: Path, grounded: bool, tones: list[str] | None) -> None:
    capable = CapableModel()
    name = register(f"capable-{grounded}-{bool(tones)}", capable.reply)
    spec_path = write_spec(tmp_path, grounded=grounded, tones=tones)
    out = tmp_path / "out"
    build(spec_path, name, out)
    spec, _ = load_spec(spec_path)
    records, taxonomy, manifest = read_queries(out), read_taxonomy(out), read_manifest(out)
    requests = query_requests(capable)
    assert manifest.prompt_profile == "full" and manifest.prompts is not None
    assert set(manifest.prompts.stages.values()) == {"full"}
    assert len(requests) == manifest.counts["query_cells"] == len(records)  # one call per cell, none dropped

    # every kind of cell is here: each modality, depth 2 and 3, each tone (or none)
    assert {(r.modality, r.depth, r.tone) for r in records} == {
        (m, d, t) for m in spec.modalities for d in (2, 3) for t in (tones or [None])
    }
    if grounded:
        assert any(r.evidence_refs for r in records) and any(r.demographics or r.occupations for r in records)
    for record in records:
        fields = expected_fragments(record, taxonomy, spec)
        matching = [
            request for request in requests
            if fields["term and rationale"] in request and fields["user group"] in request
            and fields["modality task"] in request and (not record.tone or fields["tone"] in request)
        ]
        assert matching, f"no request for the cell of {record.id}"
        request = matching[0]
        missing = [field for field, text in fields.items() if text not in request]
        assert not missing, f"{record.id}: the request lacks {missing}:\n{request}"
        if not record.tone:
            assert "Tone:" not in request
        if not record.evidence_refs:
            assert "Evidence (" not in request


def test_full_profile_people_check_drops_items_that_are_no_one(tmp_path: Path) -> None:
    capable = CapableModel()
    out = tmp_path / "out"
    build(write_spec(tmp_path, grounded=True), register("people", capable.reply), out)
    report = read_manifest(out).evidence
    assert report is not None and report.llm_check and report.people_check  # on by default with the full profile
    assert report.not_people >= 1 and report.not_people_share == pytest.approx(report.not_people / report.checked, abs=1e-4)
    groups = {r.user_group.casefold() for r in read_queries(out) if r.user_group}
    assert groups and "primary health care" not in groups
    named = [item for line in (out / "evidence.jsonl").read_text().splitlines() for q in json.loads(line)["quotes"]
             for item in q["demographics"] + q["occupations"]]
    assert "older adults" in named and "primary health care" not in named
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    assert any("does not name people" in r["reason"] and r["context"]["item"] == "primary health care" for r in rejects)


def test_tones_multiply_the_cells_and_absent_tones_change_nothing(tmp_path: Path) -> None:
    spec, _ = load_spec(write_spec(tmp_path, grounded=False))
    toned = spec.model_copy(update={"tones": ["neutral", "formal", "curious"]})
    l1 = TaxonomyNode(id="L1-a", level=1, label="Medication misuse")
    l2 = TaxonomyNode(id="L2-a", level=2, label="Doses", parent_id="L1-a", rationale="doses go wrong")
    taxonomy = Taxonomy(domain=spec.domain, nodes=[l1, l2])
    groups = [UserGroup(id="g-1", l1_id="L1-a", name="Parents"), UserGroup(id="g-2", l1_id="L1-a", name="Nurses")]
    plain, with_tones = query_cells(spec, taxonomy, groups), query_cells(toned, taxonomy, groups)
    assert len(plain) == 4 and {cell.tone for cell in plain} == {None}
    assert len(with_tones) == 3 * len(plain) and {cell.tone for cell in with_tones} == {"neutral", "formal", "curious"}
    # no tone: the id and the sample metadata are as they were before tones existed
    assert QueryRecord.make_id("hi there", "n", "g", "en", "text-to-text") == QueryRecord.make_id(
        "hi there", "n", "g", "en", "text-to-text", None
    )
    assert QueryRecord.make_id("hi there", "n", "g", "en", "text-to-text", "formal") != QueryRecord.make_id(
        "hi there", "n", "g", "en", "text-to-text"
    )
    record = QueryRecord(id="q", input="x", domain="d", l1="a", l2="b", depth=2, build_id="b")
    assert "tone" not in (record_to_sample(record).metadata or {})
    assert record_to_sample(record.model_copy(update={"tone": "formal"})).metadata["tone"] == "formal"  # type: ignore[index]


def test_compact_query_request_is_todays_text(tmp_path: Path) -> None:
    """The compact profile renders exactly the request the build sent before profiles existed."""
    spec, _ = load_spec(write_spec(tmp_path, grounded=False))
    l1 = TaxonomyNode(id="L1-a", level=1, label="Medication misuse", country="Brazil")
    l2 = TaxonomyNode(id="L2-a", level=2, label="Doses", parent_id="L1-a", country="Brazil")
    cell = QueryCell(node=l2, user_group=UserGroup(id="g", l1_id="L1-a", name="Parents"), language="pt", modality="text-to-image")
    template = Prompts("compact").template("query", None)
    messages = template.messages(**query_values(spec, cell, [l1, l2], []))
    assert messages[-1].text == (
        "Person: parents in Brazil.\nTopic: Doses.\n"
        "Write the prompt this person would type into an AI image generator. Write it in Portuguese, 1-2 sentences."
    )
    assert messages[1].text.startswith("Person: a warehouse worker in Mexico.")
    toned = template.messages(**query_values(spec, QueryCell(**{**cell.__dict__, "tone": "formal"}), [l1, l2], []))
    assert "AI image generator. Write it in a formal tone. Write it in Portuguese" in toned[-1].text


def test_auto_is_compact_only_for_the_embedded_models() -> None:
    assert resolve_profile("auto", get_model("mockllm/model")) == "full"
    assert resolve_profile("auto", None) == "compact"
    assert resolve_profile("compact", get_model("mockllm/model")) == "compact"


def capable_stub(capable: CapableModel, bad_first_query: bool = False):  # type: ignore[no-untyped-def]
    seen: set[str] = set()

    def respond(messages: list[dict[str, Any]]) -> str:
        reply = capable.reply(messages)
        request = messages[-1]["content"]
        if bad_first_query and "write realistic messages" in messages[0]["content"] and not seen:
            seen.add(request)
            return json.dumps({"message": "not the schema"})
        return reply

    return respond


def test_structured_replies_through_response_schema(tmp_path: Path) -> None:
    capable = CapableModel()
    out = tmp_path / "out"
    with openai_stub(capable_stub(capable, bad_first_query=True)) as (base_url, state):
        summary = build(write_spec(tmp_path, grounded=True, tones=["curious"]), "openai/gpt-4o-mini", out, base_url=base_url)
    assert summary.queries > 0
    # every request asked for JSON of its stage's schema
    schemas = {body["response_format"]["json_schema"]["name"] for body in state.bodies if "response_format" in body}
    assert schemas == {"named_items", "affected_people", "support", "user_messages"}
    assert all("response_format" in body for body in state.bodies)
    calls = read_manifest(out).prompts.calls  # type: ignore[union-attr]
    assert set(calls) == {"l1", "l2", "l3", "user_groups", "evidence", "evidence_support", "queries"}
    assert all(c.schema_replies == c.calls and c.fallbacks == 0 for c in calls.values())
    # the one bad reply was retried with the validation error shown
    assert calls["queries"].retries == 1 and sum(c.retries for c in calls.values()) == 1
    retried = [body for body in state.bodies if "does not match the schema user_messages" in json.dumps(body["messages"])]
    assert len(retried) == 1
    assert "messages: Field required" in retried[0]["messages"][-1]["content"]


def test_line_format_fallback_where_the_provider_has_no_response_schema(tmp_path: Path) -> None:
    capable = CapableModel()
    name = register("fallback", capable.reply)
    out = tmp_path / "out"
    build(write_spec(tmp_path, grounded=False), name, out)
    calls = read_manifest(out).prompts.calls  # type: ignore[union-attr]
    assert calls and all(c.fallbacks == c.calls and c.schema_replies == 0 for c in calls.values())
    assert not any("JSON object" in system for system, _ in capable.requests)  # asked in lines, not JSON
    assert "line-format fallbacks" in (out / "README.md").read_text()
    assert "prompt profile: **full**" in (out / "README.md").read_text()


def write_template(folder: Path, name: str, request: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(f"system: You write messages.\nrequest: |\n  {request}\n")
    return path


@pytest.mark.parametrize(
    ("name", "request_text", "problem"),
    [
        ("query", "Person: {user_group} {shoe_size}. Write in {language_name}.", "unknown variable '{shoe_size}'"),
        ("query", "Person: someone. Write in {language_name}.", "must use the variable '{user_group}'"),
        ("l1_categories", "Domain: {domain}. List {0} categories.", "positional variable"),
        ("frobnicate", "Domain: {domain}.", "no build stage uses a template named 'frobnicate'"),
    ],
)
def test_a_bad_prompts_folder_is_one_error_before_any_model_call(
    tmp_path: Path, name: str, request_text: str, problem: str
) -> None:
    path = write_template(tmp_path / "prompts", name, request_text)
    model = register(f"unused-{name}-{len(problem)}", CapableModel().reply)
    with pytest.raises(PromptError) as error:
        build(write_spec(tmp_path, grounded=False, extra="prompts: prompts\n"), model, tmp_path / "out")
    assert str(path) in str(error.value) and problem in str(error.value)
    assert CALLS[model.split("/", 1)[1]] == 0 and not (tmp_path / "out").exists()


def test_a_missing_prompts_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="prompts folder .*nowhere does not exist"):
        build(write_spec(tmp_path, grounded=False, extra="prompts: nowhere\n"), register("unused-x", CapableModel().reply), tmp_path / "o")


def test_a_prompts_folder_overrides_the_shipped_template_for_its_profile(tmp_path: Path) -> None:
    folder = tmp_path / "prompts"
    write_template(folder / "full", "query", "OVERRIDE {user_group} wants {tone_clause}in {language_name}: {term}.")
    write_template(folder / "compact", "query", "COMPACT {user_group} {language_name}")  # not the profile in use
    capable = CapableModel()
    out = tmp_path / "out"
    build(write_spec(tmp_path, grounded=False, extra="prompts: prompts\n"), register("override", capable.reply), out)
    sent = [request for _, request in capable.requests if request.startswith(("OVERRIDE", "COMPACT"))]
    assert sent and all(request.startswith("OVERRIDE ") and request.endswith(".") for request in sent)
    assert read_manifest(out).prompts.prompts_dir == str(folder)  # type: ignore[union-attr]


def test_preview_renders_each_stage_for_one_example_cell(tmp_path: Path) -> None:
    from generators.prompt_preview import preview

    spec, _ = load_spec(write_spec(tmp_path, grounded=True, tones=["curious"]))
    full = preview(spec, "openai/gpt-4o")
    assert [p.stage for p in full] == [
        "l1_categories", "l2_topics", "l3_terms", "user_groups", "evidence_extract", "evidence_support", "query"
    ]
    assert all(p.profile == "full" and p.structured for p in full)
    query = full[-1].text()
    for text in (spec.definition.rstrip("."), "Use case: Advice seeking.", "Tone: curious.", '"<verified quote>" (source: <source title>',
                 "Demographics: <demographic named in the evidence>.", "Term: <L3 term>: <why the term matters>", '{"messages":'):
        assert text in query
    [compact] = preview(spec, "nodesynth/smollm2", stage="queries")
    assert compact.profile == "compact" and not compact.structured and "Topic: <L2 topic> > <L3 term>." in compact.text()
    [lines] = preview(spec, "scripted/x", stage="l1")  # full, but its provider has no response_schema
    assert lines.profile == "full" and not lines.structured and "one item per line" in lines.text()
    assert len(preview(spec, "openai/gpt-4o", grounded=False)) == 5
    with pytest.raises(PromptError, match="unknown stage 'l4'"):
        preview(spec, "openai/gpt-4o", stage="l4")
