"""The embedded grader on XSTest, free text vs constrained labels (`over_refusal` rubric).

    PYTHONPATH=. python benchmarks/judge_constrained.py --limit 120 [--mode constrained|free|both]

The same machinery as `nodesynth calibrate --format xstest --scorer over_refusal --grader
nodesynth/smollm2` (scorers.calibration: rubric_verdicts runs rubric_rater itself), on a seeded
subsample of one XSTest completions file (both classes kept in their proportion by a shuffle of
all rows). Prints accuracy, Cohen's kappa, unscored share and wall time per mode, as JSON lines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path

from scorers.calibration import (
    XSTEST_COLUMNS,
    XSTEST_LABELS,
    XSTEST_POSITIVE,
    compare,
    human_positive,
    read_csv_items,
    rubric_verdicts,
)
from scorers.rubric import load_rubric

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "shared/reference/xstest/model_completions/xstest_v2_completions_gpt4.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=["constrained", "free", "both"], default="both")
    args = parser.parse_args()

    from inspect_ai.model import get_model

    items = read_csv_items(args.file, XSTEST_COLUMNS)
    random.Random(args.seed).shuffle(items)
    items = items[: args.limit]
    rubric = load_rubric("over_refusal")
    human = human_positive([item.human_label for item in items], XSTEST_POSITIVE, None)
    grader = get_model("nodesynth/smollm2")
    modes = ["constrained", "free"] if args.mode == "both" else [args.mode]
    for mode in modes:
        started = time.monotonic()
        verdicts = asyncio.run(rubric_verdicts(items, rubric, grader, None, constrained=mode == "constrained"))
        report = compare(str(args.file), f"over_refusal ({mode})", items, human, verdicts, XSTEST_LABELS)
        a = report.overall
        print(json.dumps({
            "mode": mode, "n": len(items), "scored": a.n, "unscored": report.unscored,
            "accuracy": round(a.accuracy, 3), "accuracy_ci": [round(a.accuracy_ci_low, 3), round(a.accuracy_ci_high, 3)],
            "kappa": round(a.kappa, 3) if a.kappa == a.kappa else None,
            "confusion": a.confusion, "human_positive": sum(human),
            "predicted_labels": {label: verdicts.labels.count(label) for label in rubric.labels},
            "wall_seconds": round(time.monotonic() - started, 1),
        }), flush=True)


if __name__ == "__main__":
    main()
