"""Run every benchmark with its default settings, one after another (`make benchmarks`).

    .venv/bin/python benchmarks/run_all.py                 # all of them (about 15-25 minutes on 2 cores)
    .venv/bin/python benchmarks/run_all.py quality_gates tag_gain

Each benchmark prints its own figures; this adds a header, the wall time and the exit status of
each, and a summary table at the end. Benchmarks that read ../shared/reference say so and stop
when it is absent. Run them on an otherwise idle machine: the wall-clock figures depend on it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# cheapest first, so a broken setup shows up early
ORDER = [
    "refusal_first_pass",
    "quality_gates",
    "retrieval_scale",
    "embedded_model",
    "report_scale",
    "evidence_verification",
    "tag_gain",
]


def main() -> None:
    names = sys.argv[1:] or ORDER
    unknown = [name for name in names if not (HERE / f"{name}.py").is_file()]
    if unknown:
        sys.exit(f"no such benchmark: {', '.join(unknown)} (known: {', '.join(ORDER)})")
    results = []
    for name in names:
        print(f"\n===== {name} =====", flush=True)
        started = time.monotonic()
        status = subprocess.run([sys.executable, str(HERE / f"{name}.py")], cwd=HERE.parent, check=False).returncode
        results.append((name, time.monotonic() - started, status))
    print("\n===== summary =====")
    for name, seconds, status in results:
        print(f"{name:<24} {seconds:>7.0f} s  {'ok' if status == 0 else f'FAILED (exit {status})'}")
    if any(status for _, _, status in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
