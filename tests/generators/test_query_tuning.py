"""The query stage's curated rows: compiled from the sources, checked, and rendered as the build's request."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from generators.queries import generate_queries
from generators.query_tuning.data import (
    CURATED_FILE,
    QueryRow,
    QueryTuningError,
    compile_sources,
    load_rows,
    row_problems,
)
from generators.records import Taxonomy, TaxonomyNode, UserGroup
from generators.spec import DomainSpec
from tests.scripted_model import register


@pytest.fixture(scope="module")
def rows() -> list[QueryRow]:
    return load_rows(CURATED_FILE)


def test_the_jsonl_is_the_compiled_sources(rows: list[QueryRow]) -> None:
    # without the row checks (they run in `python -m generators.query_tuning.data`); same rows, same order
    assert [row.model_dump() for row in compile_sources(check=False)] == [row.model_dump() for row in rows]


def test_the_grid_the_brief_asks_for(rows: list[QueryRow]) -> None:
    assert len(rows) >= 600
    assert len({row.domain for row in rows}) >= 8
    assert set(Counter(row.language for row in rows)) == {"en", "es", "pt", "id"}
    assert set(Counter(row.modality for row in rows)) == {"text-to-text", "text-to-image", "text-to-video", "text-to-audio"}
    assert len(set(row.tone for row in rows)) == 6
    assert len({row.id for row in rows}) == len(rows)


def test_a_sample_of_rows_passes_the_row_checks(rows: list[QueryRow]) -> None:
    # every row passed at compile time; a spread sample keeps this test fast
    for row in rows[::40]:
        assert row_problems(row) == [], row


@pytest.mark.parametrize(
    ("query", "language", "problem"),
    [
        ("It seems like there was a misunderstanding regarding my response to your question.", "en", "assistant-voiced"),
        ("How can I assist you today with your medical question?", "en", "assistant-voiced"),
        ("Which painkillers are safe to take with warfarin for knee pain?", "en", "first-person"),
        ("Mi hijo tiene fiebre alta desde ayer, ¿qué le puedo dar?", "pt", "identified as"),
        ("Pain", "en", "words"),
    ],
)
def test_row_checks_catch_what_would_teach_the_wrong_voice(query: str, language: str, problem: str) -> None:
    row = QueryRow(
        domain="Medical advice", l1="Medication safety", l2="Drug interactions", l3="Warfarin and painkillers",
        user_group="Elderly people", language=language, modality="text-to-text", tone="neutral",
        query=query,
    )
    assert any(problem in p for p in row_problems(row)), row_problems(row)


def test_a_bad_source_names_file_and_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x.yaml").write_text(
        "domain: Medical advice\nqueries:\n  Drug interactions:\n"
        "    en ALL: [7, text, curious, Elderly people, \"My knee hurts a lot.\"]\n",
        encoding="utf-8",
    )
    with pytest.raises(QueryTuningError, match=r"x.yaml: Drug interactions > en ALL: L3 number 7"):
        compile_sources(tmp_path)


def test_a_rows_request_is_exactly_what_the_build_sends(rows: list[QueryRow]) -> None:
    # one row per modality, country or not: the build's query stage renders the same conversation
    picked = {}
    for row in rows:
        picked.setdefault((row.modality, row.country == "ALL"), row)
    for row in picked.values():
        sent: list[list[tuple[str, str]]] = []

        def respond(messages, sent=sent):  # type: ignore[no-untyped-def]
            sent.append([(m.role, m.text) for m in messages])
            return "My knee hurts after my shift, which painkiller can I take with my pills?"

        model = register(f"qt-{row.id}", respond)
        spec = DomainSpec(
            name="t", domain=row.domain, definition="Questions people ask.", countries=[row.country],
            languages=[row.language], modalities=[row.modality], prompt_profile="compact",
            tones=[] if row.tone == "neutral" else [row.tone],  # a neutral row is asked as a spec without tones asks
        )
        l1 = TaxonomyNode(id="l1", level=1, label=row.l1, country=row.country)
        l2 = TaxonomyNode(id="l2", level=2, label=row.l2, parent_id="l1", country=row.country)
        l3 = TaxonomyNode(id="l3", level=3, label=row.l3, parent_id="l2", country=row.country)
        group = UserGroup(id="g", l1_id="l1", name=row.user_group, country=row.country)
        from inspect_ai.model import get_model

        asyncio.run(generate_queries(
            spec, Taxonomy(domain=row.domain, nodes=[l1, l2, l3]), [group], get_model(model), build_id="b", models_used={},
        ))
        # the build also writes for the L2 node (depth-2 queries); the row is its L3 cell
        assert [(m.role, m.text) for m in row.messages()] in sent
        assert f"Topic: {row.l2} > {row.l3}." in row.messages()[-1].text


def test_default_query_model_is_the_shipped_adapter_for_the_embedded_generator_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from generators.query_tuning import adapter as query_adapter
    from generators.tag.adapter import SHIPPED_ADAPTER

    monkeypatch.setattr(query_adapter, "SHIPPED_QUERY_ADAPTER", SHIPPED_ADAPTER.parent / "no-such-adapter")
    assert query_adapter.default_query_model("nodesynth/smollm2") is None  # nothing shipped: the generator

    monkeypatch.setattr(query_adapter, "SHIPPED_QUERY_ADAPTER", SHIPPED_ADAPTER)  # any adapter with a card stands in
    name, kwargs = query_adapter.default_query_model("nodesynth/smollm2")  # type: ignore[misc]
    assert name == "nodesynth/smollm2" and kwargs["adapter"] == str(SHIPPED_ADAPTER.resolve())
    assert query_adapter.default_query_model("openai/gpt-4o-mini") is None
    assert query_adapter.default_query_model("nodesynth/smollm2", use_adapter=False) is None  # --query-model generator
