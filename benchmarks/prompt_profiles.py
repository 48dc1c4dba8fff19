"""What the query requests carry, and what they cost, with the compact and the full prompt profile.

Builds `datasets/specs/medical_advice.yaml` (plus two tones) grounded in the shipped corpus
`datasets/corpus/medical_advice`, once per profile, through Inspect's openai provider against a
loopback OpenAI-compatible server (tests/stub_server.py) whose model answers in the shape asked and
copies quotes honestly (tests/capable_model.py). For every query cell it finds the request that
was sent and checks which of the cell's fields it carries (a field counts only for cells that have
it: a depth-2 cell has no L3 term, a generated group no demographics, an ungrounded node no
quotes), and it counts input tokens per query call (words and punctuation marks, an approximation
of a BPE tokenizer's count; no tokenizer download needed).

    PYTHONPATH=. .venv/bin/python benchmarks/prompt_profiles.py [--json out.json]

Not a timed test: each build makes about 2,000 calls to the loopback server (a minute or two).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generators.artifact import read_manifest, read_queries, read_taxonomy  # noqa: E402
from generators.records import QueryRecord, Taxonomy  # noqa: E402
from generators.spec import DomainSpec, EvidenceSpec, QualitySpec, language_name, load_spec  # noqa: E402
from tests.capable_model import CapableModel, text_of  # noqa: E402
from tests.stub_server import openai_stub  # noqa: E402

SPEC = ROOT / "datasets" / "specs" / "medical_advice.yaml"
CORPUS = ROOT / "datasets" / "corpus" / "medical_advice"
TONES = ["neutral", "emotional"]
TASKS = {"text-to-text": "AI assistant", "text-to-image": "AI image generator", "text-to-video": "video", "text-to-audio": "audio"}
_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(_TOKEN.findall(text_of(message))) + 4 for message in messages)  # + per-message overhead


def cell_key(record: QueryRecord, profile: str) -> list[str]:
    """Texts that identify the request of a record's cell in that profile's wording."""
    group = (record.user_group or "")[0].lower() + (record.user_group or "")[1:]
    person = f"Person: {group}{' in ' + record.country if record.country else ''}."
    path = " > ".join(record.taxonomy_path)
    where = f"Taxonomy: {path}\n" if profile == "full" else f"Topic: {' > '.join(record.taxonomy_path[1:])}.\n"
    return [person, where, TASKS[record.modality], language_name(record.language), record.tone or ""]


def fields_of(record: QueryRecord, taxonomy: Taxonomy, spec: DomainSpec) -> dict[str, list[str]]:
    """Each field the cell has, as the texts a request must contain to carry it."""
    term = taxonomy.by_id()[record.l3_id or record.l2_id or ""]
    fields: dict[str, list[str]] = {
        "definition": [spec.definition.strip().rstrip(".")],
        "use case": [spec.use_case],
        "L1": [record.l1],
        "L2": [record.l2],
        "user group": [(record.user_group or "")[0].lower() + (record.user_group or "")[1:]],
        "modality task": [TASKS[record.modality]],
        "language": [language_name(record.language)],
    }
    if record.l3:
        fields["L3 term"] = [record.l3]
        if term.rationale:
            fields["L3 rationale"] = [term.rationale]
    if record.demographics:
        fields["demographics"] = record.demographics
    if record.occupations:
        fields["occupations"] = record.occupations
    if record.country:
        fields["country"] = [record.country]
    if record.evidence_refs:
        fields["evidence quotes"] = [ref.quote for ref in record.evidence_refs]
        fields["evidence sources"] = [ref.title or ref.source_id for ref in record.evidence_refs]
    if record.tone:
        fields["tone"] = [record.tone]
    return fields


def run(profile: str, workdir: Path) -> dict[str, Any]:
    from inspect_ai.model import get_model

    from generators.build import BuildModels, build_dataset

    spec, text = load_spec(SPEC)
    spec = spec.model_copy(
        update={
            "prompt_profile": profile,
            "tones": TONES,
            "evidence": EvidenceSpec(corpus=str(CORPUS)),
            # every cell's query is kept, so every request can be matched to its record
            "quality": QualitySpec(near_duplicate_jaccard=None, check_language=False, check_voice=False, off_topic_similarity=None),
        }
    )
    capable = CapableModel()
    out = workdir / profile
    with openai_stub(capable.reply, prompt_tokens=count_tokens) as (base_url, state):
        model = get_model("openai/gpt-4o-mini", base_url=base_url, memoize=False)
        summary = asyncio.run(build_dataset(spec, text, BuildModels(model), out))
    bodies = [body["messages"] for body in state.bodies if "write realistic messages" in text_of(body["messages"][0])]
    requests = [text_of(messages[-1]) for messages in bodies]
    records, taxonomy = read_queries(out), read_taxonomy(out)
    carried: dict[str, list[int]] = {}
    unmatched = 0
    for record in records:
        key = cell_key(record, profile)
        match = next((request for request in requests if all(part in request for part in key)), None)
        if match is None:
            unmatched += 1
            continue
        for field, texts in fields_of(record, taxonomy, spec).items():
            carried.setdefault(field, []).append(int(all(text in match for text in texts)))
    return {
        "profile": profile,
        "query_calls": len(bodies),
        "query_cells": read_manifest(out).counts["query_cells"],
        "queries_kept": summary.queries,  # cells whose requests are identical write the same query: one is kept
        "unmatched": unmatched,
        "mean_input_tokens_per_query_call": round(sum(count_tokens(m) for m in bodies) / max(len(bodies), 1), 1),
        "share_carrying": {field: round(sum(hits) / len(hits), 3) for field, hits in carried.items()},
        "cells_with_field": {field: len(hits) for field, hits in carried.items()},
        "model_calls": summary.model_calls,
        "evidence_kept": summary.evidence.kept if summary.evidence else None,
        "evidence_not_people": summary.evidence.not_people if summary.evidence else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-loopback-not-a-real-key")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INSPECT_CACHE_DIR"] = str(Path(tmp) / "cache")  # every call reaches the server: tokens are counted
        os.environ["NODESYNTH_INDEX_DIR"] = str(Path(tmp) / "index")
        results = [run(profile, Path(tmp)) for profile in ("compact", "full")]
    fields = list(dict.fromkeys(field for result in results for field in result["share_carrying"]))
    print(f"{'field':<18} {'cells':>6} " + " ".join(f"{r['profile']:>8}" for r in results))
    for field in fields:
        cells = max(r["cells_with_field"].get(field, 0) for r in results)
        print(f"{field:<18} {cells:>6} " + " ".join(f"{r['share_carrying'].get(field, 0):>8.0%}" for r in results))
    print("(share of the cells that have the field whose query request carries it)")
    for result in results:
        print(
            f"{result['profile']}: {result['query_cells']} cells, {result['query_calls']} query calls, "
            f"{result['queries_kept']} distinct queries; mean {result['mean_input_tokens_per_query_call']} input tokens per "
            f"query call; {result['model_calls']} model calls in all; evidence kept {result['evidence_kept']} "
            f"({result['evidence_not_people']} dropped for not naming people)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
