"""A build of 50,000+ query cells against a loopback server: wall time, calls/s, peak RSS, gates' share.

    .venv/bin/python benchmarks/build_scale.py                  # 50,400 cells (about 50,700 calls)
    .venv/bin/python benchmarks/build_scale.py --l1 3           # 10,800 cells, for a quicker look

The spec is generated here: L1 categories (--l1, default 14) x 10 L2 topics x (5 L3 terms + the L2
node itself) x 10 user groups x 2 languages x 3 modalities. The server (benchmarks/loopback.py,
own process) answers at once (--latency 0) so the figure is the build's own cost, not the wait.
Memory should grow with the records kept, not with the calls made.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from build_throughput import StageClock, make_model, start_server  # noqa: E402

SPEC = """
name: scale
domain: Medical advice
definition: Health questions people ask an AI assistant, for a benchmark of the build at scale.
countries: [ALL]
languages: [en, pt]
modalities: [text-to-text, text-to-image, text-to-audio]
prompt_profile: compact  # the loopback server answers in the line format, not JSON
size: {{max_l1: {l1}, max_l2_per_l1: 10, l3_per_l2: 5, user_groups_per_l1: 10, queries_per_cell: 1}}
"""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler(threading.Thread):
    """Resident memory every quarter second, so the query stage's growth can be read per record."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, float]] = []
        self.running = True

    def run(self) -> None:
        while self.running:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
            self.samples.append((time.monotonic(), pages * resource.getpagesize() / 1e6))
            time.sleep(0.25)

    def at(self, moment: float) -> float:
        return max((rss for when, rss in self.samples if when <= moment), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--l1", type=int, default=14)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-loopback")
    os.environ.setdefault("INSPECT_DISPLAY", "none")
    from generators.build import BuildModels, build_dataset
    from generators.plan import plan_build
    from generators.spec import load_spec

    server, base_url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            os.environ["INSPECT_CACHE_DIR"] = str(Path(scratch) / "cache")
            spec_file = Path(scratch) / "scale.yaml"
            spec_file.write_text(SPEC.format(l1=args.l1))
            spec, text = load_spec(spec_file)
            plan = plan_build(spec)
            print(f"plan: {plan.cells:,} cells, {plan.model_calls:,} calls", flush=True)
            models = BuildModels(make_model(base_url, args.connections))
            rss_before = peak_rss_mb()
            clock = StageClock()
            sampler = RssSampler()
            sampler.start()
            started, cpu = time.monotonic(), time.process_time()
            summary = asyncio.run(build_dataset(spec, text, models, Path(scratch) / "out", clock, benchmarks=[]))
            wall, cpu = time.monotonic() - started, time.process_time() - cpu
            sampler.running = False
    finally:
        server.terminate()
        server.wait()
    gates = clock.finished["quality gates"] - clock.started["quality gates"]
    print(f"cells: {plan.cells:,}  calls: {summary.model_calls:,} (planned {plan.model_calls:,})  queries kept: {summary.queries:,}")
    print(f"wall: {wall:.0f} s  CPU: {cpu:.0f} s  calls/s: {summary.model_calls / wall:.1f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (before the build: {rss_before:.0f} MB)")
    print(f"quality gates: {gates:.1f} s, {gates / wall:.0%} of the wall time")
    # the query stage's growth, per record it kept (written and rejected): memory should follow records, not calls
    first, last = clock.origin + clock.started["queries"], clock.origin + clock.finished["queries"]
    grown = sampler.at(last) - sampler.at(first)
    records = summary.queries + summary.rejects
    print(f"RSS over the query stage: {sampler.at(first):.0f} -> {sampler.at(last):.0f} MB, "
          f"{grown * 1e3 / max(records, 1):.1f} KB per record ({records:,} records, {summary.model_calls:,} calls)")
    for name, start in clock.started.items():
        print(f"  {name:<14} {start:7.1f} s -> {clock.finished[name]:7.1f} s")


if __name__ == "__main__":
    main()
