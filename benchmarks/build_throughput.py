"""Build throughput against bare Inspect `generate`, through the same generate cache.

    .venv/bin/python benchmarks/build_throughput.py [--spec datasets/specs/medical_advice.yaml] [--connections 32]

Starts its own loopback OpenAI-compatible server (benchmarks/loopback.py, 100 ms per answer, own
process), builds the spec with every call a cache miss, then replays the very requests the build
made (same messages, config, model settings and cache policy, into an emptied cache) as bare
`Model.generate` calls, all at once, and prints both rates and their ratio, with the build's time
per stage (first start to last finish). `--bare-prompts short` replays one-line prompts instead
(the issue's first measurement): the build's few-shot requests cost the OpenAI client more CPU
each than one-line prompts do, which is Inspect's cost, not the build's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class StageClock:
    """A BuildProgress that records when each stage started and when its last item finished."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.origin = time.monotonic()

    def stage(self, name: str, total: int) -> Callable[[], None]:
        self.started.setdefault(name, time.monotonic() - self.origin)
        self.finished[name] = self.started[name]

        def advance() -> None:
            self.finished[name] = time.monotonic() - self.origin

        return advance


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "loopback.py"), "--latency", str(latency)],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def make_model(base_url: str, connections: int):  # type: ignore[no-untyped-def]
    from inspect_ai.model import GenerateConfig, get_model

    return get_model("openai/gpt-4o-mini", base_url=base_url, memoize=False,
                     config=GenerateConfig(max_connections=connections, max_retries=3, timeout=120))


Request = tuple[Any, Any]  # (messages, GenerateConfig)


async def bare_generate(base_url: str, connections: int, requests: list[Request]) -> float:
    """Seconds for the `requests` as bare generate calls, all cache misses, all at once."""
    from inspect_ai.model import CachePolicy

    model = make_model(base_url, connections)
    started = time.monotonic()
    await asyncio.gather(*(model.generate(messages, config=config, cache=CachePolicy(expiry=None))
                           for messages, config in requests))
    return time.monotonic() - started


def short_requests(count: int) -> list[Request]:
    from inspect_ai.model import GenerateConfig

    config = GenerateConfig(max_tokens=80, temperature=0.0)
    return [(f"List 2 things, request {i} at {time.time()}.", config) for i in range(count)]


def recording(model: Any, requests: list[Request]) -> Any:
    """Record every request the build sends through `model` (the bare run replays them)."""
    generate = model.generate

    async def recorded(input: Any, *args: Any, config: Any = None, **kwargs: Any) -> Any:
        requests.append((list(input), config))
        return await generate(input, *args, config=config, **kwargs)

    model.generate = recorded
    return model


def run_build(spec_path: Path, base_url: str, connections: int, out: Path, requests: list[Request]) -> tuple[int, float, StageClock]:
    from generators.build import BuildModels, build_dataset
    from generators.spec import load_spec

    spec, text = load_spec(spec_path)
    # The loopback server answers in the line format, not JSON: the compact profile's replies.
    spec = spec.model_copy(update={"prompt_profile": "compact"})
    models = BuildModels(recording(make_model(base_url, connections), requests))
    clock = StageClock()
    started = time.monotonic()
    summary = asyncio.run(build_dataset(spec, text, models, out, clock, benchmarks=[]))
    return summary.model_calls, time.monotonic() - started, clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "datasets" / "specs" / "medical_advice.yaml")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--bare-prompts", choices=["replay", "short"], default="replay")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the build here")
    args = parser.parse_args()
    os.environ.setdefault("OPENAI_API_KEY", "sk-loopback")
    os.environ.setdefault("INSPECT_DISPLAY", "none")
    server, base_url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            os.environ["INSPECT_CACHE_DIR"] = str(Path(scratch) / "cache")  # every call a miss, then written
            from generators import build  # noqa: F401  (imports are not the build's time)

            cpu = time.process_time()
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            requests: list[Request] = []
            calls, build_seconds, clock = run_build(args.spec, base_url, args.connections, Path(scratch) / "out", requests)
            if args.profile:
                profiler.disable()
                profiler.dump_stats(args.profile)
            build_cpu = time.process_time() - cpu
            shutil.rmtree(os.environ["INSPECT_CACHE_DIR"])  # the replayed requests are misses again
            if args.bare_prompts == "short":
                requests = short_requests(calls)
            bare_cpu = time.process_time()
            bare_seconds = asyncio.run(bare_generate(base_url, args.connections, requests))
            bare_cpu = time.process_time() - bare_cpu
    finally:
        server.terminate()
        server.wait()
    build_rate, bare_rate = calls / build_seconds, calls / bare_seconds
    print(f"calls: {calls}  connections: {args.connections}  latency: {args.latency * 1000:.0f} ms")
    print(f"bare Inspect generate: {bare_rate:6.1f} calls/s ({bare_seconds:.1f} s wall, {bare_cpu:.1f} s CPU; "
          f"{args.bare_prompts} prompts)")
    print(f"nodesynth build:       {build_rate:6.1f} calls/s ({build_seconds:.1f} s wall, {build_cpu:.1f} s CPU)")
    print(f"ratio: {build_rate / bare_rate:.2f}")
    for name, start in clock.started.items():
        print(f"  {name:<14} {start:6.2f} s -> {clock.finished[name]:6.2f} s")


if __name__ == "__main__":
    main()
