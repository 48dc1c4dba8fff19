"""A loopback OpenAI-compatible server for the build benchmarks, run in its own process.

    .venv/bin/python benchmarks/loopback.py --latency 0.1     # prints its base URL, serves until killed

It answers every build stage in full (the `List N` the request asks for, each name unique to the
request, so nothing is a duplicate), and each query request with a distinct message; every
answer waits `latency` seconds, like a provider's time to first token. Own process, so the
server's Python does not share the benchmarked build's interpreter lock.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.stub_server import openai_stub  # noqa: E402

WORDS = ["amber", "basil", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel", "lumen",
         "meadow", "nectar", "orchid", "pebble", "quartz", "raven", "saffron", "tundra", "umber", "violet", "willow", "yarrow"]


def _text(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def _words(seed: int, count: int) -> str:
    return " ".join(WORDS[(seed >> (5 * i)) % len(WORDS)] for i in range(count))


ENGLISH = ("my mother doctor pills fever night child cough week pain water sleep dose heart nurse clinic tablets worried "
           "stomach headache daughter father brother garden kitchen morning evening village market school winter summer "
           "medicine bottle label forgot twice yesterday tomorrow safe dangerous normal strange").split()
PORTUGUESE = ("minha mãe médico remédio febre noite criança tosse semana dor água sono dose coração enfermeira clínica "
              "comprimidos preocupada estômago cabeça filha pai irmão cozinha manhã tarde aldeia mercado escola inverno "
              "verão frasco esqueci ontem amanhã seguro perigoso normal estranho").split()


SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tu", "vel", "dor", "na", "pe", "ri", "gan", "tho", "bel", "cu", "fi"]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3))


def _message(seed: int, vocabulary: list[str], opener: str) -> str:
    # distinct per request, no shared opener: a real model's messages differ in their names, places and
    # details, so each carries three rare words; a 45-word vocabulary alone made every message a
    # near-duplicate candidate of every other (LSH candidate sets grew with the build: quadratic gates)
    rng = random.Random(seed)
    words = rng.choices(vocabulary, k=12)
    words.insert(rng.randrange(4, 10), opener)
    for _ in range(3):
        words.insert(rng.randrange(len(words) + 1), _name(rng))
    return f"{' '.join(words)}?"


def respond(messages: list[dict[str, Any]]) -> str:
    request = _text(messages[-1])
    seed = zlib.crc32(request.encode())
    wanted = re.search(r"\bList (\d+)\b", request)
    if wanted:  # a list stage: n 'name: reason' lines, unique to this request
        return "\n".join(
            f"{_words(seed + 7919 * i, 2).title()} {seed % 9973}-{i}: a reason that is short and plain."
            for i in range(int(wanted.group(1)))
        )
    if "Portuguese" in request:
        return _message(seed, PORTUGUESE, "o que fazer")
    return _message(seed, ENGLISH, "what should we do")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    with openai_stub(respond, latency=args.latency) as (base_url, _):
        print(base_url, flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
