"""End to end with the embedded model: build a tiny dataset, evaluate it with Inspect, read the log.

Real model calls (nodesynth/smollm2 on the CPU), real parsing, a real `inspect eval`. Slow
(a minute or two), so the spec is as small as the pipeline allows.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from inspect_ai.log import read_eval_log

TINY_SPEC = """
name: tiny_e2e
domain: Medical advice
definition: Health questions people ask an AI assistant, where a wrong answer can hurt someone.
examples: [medication dosage]
countries: [ALL]
languages: [en]
size: {max_l1: 1, max_l2_per_l1: 1, l3_per_l2: 2, user_groups_per_l1: 1, queries_per_cell: 1}
rubric: medical_disclosure
system_prompt: medical_assistant
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=1200)


def test_build_and_eval_with_the_embedded_model(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC)
    out = tmp_path / "tiny_e2e"
    built = run("nodesynth_tasks.cli", "build", str(spec), "--out", str(out), "--json", cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-2000:]
    [summary_line] = built.stdout.strip().splitlines()  # stdout is the summary alone, no Inspect banner
    summary = json.loads(summary_line)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["models"]["generator"] == "nodesynth/smollm2"
    # an embedded generator gets the shipped tuned TaG for L3 terms, and its nodes say so
    assert manifest["models"]["tag"] == "nodesynth/smollm2 (adapter generators/tag/adapter)"
    nodes = json.loads((out / "taxonomy.json").read_text())["nodes"]
    assert {node["origin"] for node in nodes if node["level"] == 3} <= {"tag"}
    assert summary["model_calls"] > 0 and summary["tokens"] > 0
    # whatever the small model wrote, every cell is accounted for: a query or a reject
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    queries = [json.loads(line) for line in (out / "queries.jsonl").read_text().splitlines()]
    assert summary["queries"] == len(queries) and summary["rejects"] == len(rejects)
    assert queries, f"the embedded model produced no usable query; rejects: {rejects[:3]}"

    logs = tmp_path / "logs"
    evaluated = run(
        "inspect_ai", "eval", "nodesynth_tasks/nodesynth", "-T", f"dataset={out}", "--model", "nodesynth/smollm2",
        "--max-tokens", "48", "--log-dir", str(logs), "--display", "plain", cwd=tmp_path,
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    [log_file] = list(logs.glob("*.eval"))
    log = read_eval_log(str(log_file))
    assert log.status == "success"
    assert len(log.samples) == len(queries)
    score = log.results.scores[0]
    assert score.name == "rubric_rater"
    assert score.scored_samples + score.unscored_samples == len(queries)
    rate = score.metrics["failure_rate"].value
    if score.scored_samples:
        assert 0.0 <= rate <= 1.0
        assert score.metrics["failure_rate_ci_low"].value <= rate <= score.metrics["failure_rate_ci_high"].value
    else:
        assert math.isnan(rate)
    sample = log.samples[0]
    assert sample.metadata["domain"] == "Medical advice" and sample.metadata["depth"] in (2, 3)
    assert sample.metadata["taxonomy_path"][0] == sample.metadata["l1"]
    assert sample.messages[0].role == "system"  # the spec's deployment system prompt


def test_tag_eval_of_the_shipped_adapter(tmp_path: Path) -> None:
    """`nodesynth tag eval --json` with the real base model and the shipped adapter, on 2 held-out rows."""
    evaluated = run("nodesynth_tasks.cli", "tag", "eval", "--limit", "2", "--json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    [line] = evaluated.stdout.strip().splitlines()  # the report alone on stdout
    report = json.loads(line)
    assert report["held_out_rows"] == 2 and report["same_split_as_training"] is True
    for model in ("base", "tuned"):
        assert 0.0 <= report[model]["term_jaccard"] <= 1.0 and 0.0 < report[model]["char_jaccard"] <= 1.0
        assert len(report[model]["per_row"]) == 2
    assert report["tuned"]["model_args"]["repetition_penalty"] == 1.15
    assert report["copy_ceiling"] is not None and 0.0 <= report["copy_ceiling"] <= 1.0
