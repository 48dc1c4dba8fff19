"""Query-stage figures: the off-topic threshold on curated pairs, and base vs tuned on held-out cells.

    PYTHONPATH=. python benchmarks/query_adapter.py              # both parts
    PYTHONPATH=. python benchmarks/query_adapter.py --pairs-only # the threshold alone (no generation)

Pairs: every curated row's message with its own taxonomy path (on-topic) and with the path of a
row from another domain (mismatched, seeded), MiniLM cosine (`generators.evidence.retrieval.load_encoder`).
The threshold keeps 95% of on-topic pairs (`generators.voice_topic.choose_threshold`), chosen on
English pairs, and is reported per language with its precision and recall.

Held-out cells: the rows the adapter's training card held out; the base model and the base model
with the shipped adapter write one message per cell with the build's own prompt and parser
settings (greedy, 80 tokens, the build's stop sequence); printed: on-topic share (cosine >= the
threshold) and assistant-voice share (`assistant_voice`), per language and overall.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Sequence

from generators.query_tuning.adapter import shipped_query_adapter
from generators.query_tuning.data import CURATED_FILE, QueryRow, load_rows
from generators.voice_topic import ThresholdChoice, assistant_voice, choose_threshold, evaluate_threshold, topic_similarities

LANGUAGES = ("en", "es", "pt", "id")


def mismatched_paths(rows: Sequence[QueryRow], seed: int = 0) -> list[list[str]]:
    """For each row, the taxonomy path of a random row from another domain."""
    rng = random.Random(seed)
    paths = []
    for row in rows:
        others = [other for other in rows if other.domain != row.domain and other.language == row.language]
        paths.append(rng.choice(others).taxonomy_path)
    return paths


def threshold_figures(encoder: object, rows: Sequence[QueryRow]) -> tuple[ThresholdChoice, dict[str, dict[str, float]]]:
    messages = [row.query for row in rows]
    on = topic_similarities(encoder, messages, [row.taxonomy_path for row in rows])
    off = topic_similarities(encoder, messages, mismatched_paths(rows))
    by_language: dict[str, tuple[list[float], list[float]]] = {language: ([], []) for language in LANGUAGES}
    for row, s_on, s_off in zip(rows, on, off, strict=True):
        by_language[row.language][0].append(s_on)
        by_language[row.language][1].append(s_off)
    chosen = choose_threshold(*by_language["en"])
    figures = {}
    for language, (lang_on, lang_off) in by_language.items():
        at = evaluate_threshold(lang_on, lang_off, chosen.threshold)
        own = choose_threshold(lang_on, lang_off)
        figures[language] = {
            "mean_on": round(sum(lang_on) / len(lang_on), 3), "mean_mismatched": round(sum(lang_off) / len(lang_off), 3),
            "precision": round(at.precision, 3), "recall": round(at.recall, 3), "on_topic_kept": round(at.on_topic_kept, 3),
            "own_threshold": own.threshold, "own_recall": round(own.recall, 3), "own_precision": round(own.precision, 3),
        }
    return chosen, figures


async def write_messages(model_name: str, model_args: dict, rows: Sequence[QueryRow]) -> list[str]:
    from inspect_ai.model import GenerateConfig, get_model

    from generators.queries import parse_queries

    model = get_model(model_name, memoize=False, **model_args)
    config = GenerateConfig(max_tokens=80, stop_seqs=["<|im_end|>"])
    outputs = await asyncio.gather(*(model.generate(row.messages(), config=config) for row in rows))
    messages = []
    for output in outputs:
        # the build's first-paragraph rule, without its drops: the gates judge what the model wrote
        try:
            kept, _ = parse_queries(output.completion, want=1, example="")
            messages.append(kept[0])
        except ValueError:
            messages.append(" ".join(output.completion.strip().split("\n\n")[0].split()))
    return messages


def shares(encoder: object, rows: Sequence[QueryRow], messages: Sequence[str], threshold: float) -> dict[str, dict[str, float]]:
    sims = topic_similarities(encoder, messages, [row.taxonomy_path for row in rows])
    result: dict[str, dict[str, float]] = {}
    for language in (*LANGUAGES, "all"):
        picked = [i for i, row in enumerate(rows) if language in ("all", row.language)]
        if not picked:
            continue
        result[language] = {
            "n": len(picked),
            "on_topic": round(sum(sims[i] >= threshold for i in picked) / len(picked), 3),
            "mean_cosine": round(sum(sims[i] for i in picked) / len(picked), 3),
            "assistant_voice": round(sum(bool(assistant_voice(messages[i])) for i in picked) / len(picked), 3),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs-only", action="store_true")
    parser.add_argument("--limit", type=int, default=None, help="held-out cells at most (seeded order)")
    args = parser.parse_args()

    from generators.evidence.retrieval import load_encoder

    encoder = load_encoder()
    rows = load_rows(CURATED_FILE)
    chosen, figures = threshold_figures(encoder, rows)
    print(json.dumps({"threshold": chosen.model_dump(), "per_language": figures}), flush=True)
    if args.pairs_only:
        return

    adapter = shipped_query_adapter()
    if adapter is None:
        raise SystemExit("no query adapter is shipped yet: python -m generators.query_tuning.train")
    from generators.tag.adapter import tag_model_kwargs
    from generators.tag.train import read_card

    held = set(read_card(adapter).held_out_ids)
    cells = [row for row in rows if row.id in held]
    random.Random(0).shuffle(cells)
    cells = cells[: args.limit] if args.limit else cells
    name, tuned_args = tag_model_kwargs(adapter)
    for label, model_args in (("base", {k: v for k, v in tuned_args.items() if k != "adapter"}), ("tuned", tuned_args)):
        started = time.monotonic()
        messages = asyncio.run(write_messages(name, model_args, cells))
        print(json.dumps({
            "model": label, "seconds": round(time.monotonic() - started, 1),
            "shares": shares(encoder, cells, messages, chosen.threshold), "examples": messages[:3],
        }, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
