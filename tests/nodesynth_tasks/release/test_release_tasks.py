"""The authors' release and the human baselines as tasks: counts, stable ids, metadata, arguments, a run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ChatMessage

from nodesynth_common.errors import NodeSynthError
from nodesynth_tasks.dataset import load_samples
from nodesynth_tasks.release import (
    baseline_ailuminate,
    baseline_simplesafetytests,
    baseline_xstest,
    medical_depth,
    nodesynth_culture,
    nodesynth_medical,
)
from nodesynth_tasks.release.authors import release_dataset_dir
from nodesynth_tasks.release.baselines import ailuminate_samples
from tests.scripted_model import register

NODESYNTH_KEYS = {"domain", "l1", "l2", "language", "modality"}


def test_release_tasks_load_every_query(mirror: Path) -> None:
    medical = nodesynth_medical()
    # the importer's accounting: every row is a query or a reject (the release has 5 non-queries)
    assert len(medical.dataset) == 209 and medical.metadata["rubric"] == "medical_disclosure"
    culture = nodesynth_culture()
    assert len(culture.dataset) == 490 and culture.metadata["rubric"] == "stereotyping"
    depth = medical_depth()
    assert depth.metadata["rubric"] == "medical_disclosure"
    assert Counter(s.metadata["depth"] for s in depth.dataset) == {2: 348, 3: 288}
    assert Counter(s.metadata["source"] for s in depth.dataset) == {"sarai_l2": 348, "sarai": 288}
    # the workbook's own prompts, in its order
    sheet = openpyxl.load_workbook(mirror / "nodesynth" / "Nodesynth_Medical_L2_L3.xlsx", read_only=True)["Everything"]
    rows = list(sheet.iter_rows(values_only=True))
    prompt = rows[0].index("prompts")
    assert [s.input for s in depth.dataset] == [str(row[prompt]).strip() for row in rows[1:]]


def test_release_samples_carry_nodesynth_metadata_and_stable_ids(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    medical = nodesynth_medical()
    directory = release_dataset_dir("nodesynth_medical")
    direct = load_samples(str(directory))  # what `nodesynth -T dataset=<the import>` would give
    assert [(s.id, s.metadata) for s in medical.dataset] == [(s.id, s.metadata) for s in direct]
    depth_ids = [s.id for s in medical_depth().dataset]
    assert len(set(depth_ids)) == 636
    sample = medical_depth().dataset[0]
    assert set(direct[0].metadata) <= set(sample.metadata)  # every key nodesynth samples have
    # a fresh cache (a re-import, a new process) gives the same ids
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other"))
    assert release_dataset_dir("nodesynth_medical") != directory
    assert [s.id for s in nodesynth_medical().dataset] == [s.id for s in medical.dataset]
    assert [s.id for s in medical_depth().dataset] == depth_ids


def test_filters_and_arguments_are_forwarded_to_nodesynth(mirror: Path) -> None:
    assert len(medical_depth(depth=2).dataset) == 348
    task = medical_depth(depth="3", rubric="harmful_compliance", system_prompt="medical_assistant", first_pass="refusal")
    assert len(task.dataset) == 288 and task.metadata["rubric"] == "harmful_compliance"
    assert task.metadata["system_prompt"] == "medical_assistant"
    l1 = medical_depth().dataset[0].metadata["l1_id"]
    assert {s.metadata["l1_id"] for s in medical_depth(l1=l1).dataset} == {l1}
    first = nodesynth_medical().dataset[0].metadata["l1"]
    chosen = nodesynth_medical(l1=first.upper()).dataset
    assert 0 < len(chosen) < 209 and {s.metadata["l1"] for s in chosen} == {first}
    for build, kwargs, message in [
        (medical_depth, {"dataset": "demo"}, "takes no dataset"),
        (nodesynth_culture, {"depht": 2}, "takes no argument 'depht'"),
        (baseline_simplesafetytests, {"hazard": "hte"}, "takes no argument 'hazard'"),
        (medical_depth, {"language": "xx"}, "no medical_depth samples match"),
        (baseline_ailuminate, {"hazard": "cse"}, "never loads the cse"),
        (baseline_ailuminate, {"hazard": "nope"}, "unknown hazard 'nope'"),
        (baseline_xstest, {"label": "maybe"}, "label 'maybe'"),
    ]:
        with pytest.raises(NodeSynthError, match=message):
            build(**kwargs)


def test_baselines_judged_like_nodesynth(mirror: Path) -> None:
    everything = baseline_ailuminate()
    assert len(everything.dataset) == 1100 and "cse" not in {s.metadata["hazard"] for s in everything.dataset}
    assert everything.metadata["rubric"] == "harmful_compliance"
    health = baseline_ailuminate(hazard="spc_hlt")
    assert len(health.dataset) == 26 and health.metadata["rubric"] == "medical_disclosure"
    assert len(baseline_ailuminate(hazard=["spc_fin", "spc_ele"]).dataset) == 50
    sst = baseline_simplesafetytests()
    assert len(sst.dataset) == 100 and sst.dataset[0].id == "sst_001"
    assert Counter(s.metadata["l1"] for s in sst.dataset).most_common(1)[0][1] == 20
    assert [len(baseline_xstest(label=label).dataset) for label in ("unsafe", "safe", "all")] == [200, 250, 450]
    assert baseline_xstest(label="safe").metadata["rubric"] == "over_refusal"
    for task in (everything, sst, baseline_xstest()):
        assert NODESYNTH_KEYS <= set(task.dataset[0].metadata)
    # ids are the benchmark's own, so they are stable across runs
    assert [s.id for s in baseline_xstest().dataset] == [s.id for s in baseline_xstest().dataset]


def test_cse_rows_are_dropped_from_the_upstream_file_too(tmp_path: Path) -> None:
    upstream = tmp_path / "airr.csv"
    upstream.write_text(
        "release_prompt_id,prompt_text,hazard,persona,locale,prompt_hash\n"
        "p1,a prompt,hte,skilled,en_US,h1\np2,never shown,cse,unskilled,en_US,h2\np3,another,spc_hlt,skilled,en_US,h3\n"
    )
    samples = ailuminate_samples(upstream)
    assert [s.id for s in samples] == ["p1", "p3"]
    assert all("never shown" not in str(s.input) for s in samples)


def _target(messages: list[ChatMessage]) -> str:
    return "Take two tablets." if "depth" not in messages[-1].text else "I am not a doctor; call your GP."


def _grader(messages: list[ChatMessage]) -> str:
    return "It answers as a clinician.\nLABEL: No disclosure"


def test_medical_depth_runs_and_is_scored_by_the_rubric_rater(mirror: Path) -> None:
    [log] = inspect_eval(medical_depth(), model=register("release_target", _target), limit=4,
                         model_roles={"grader": register("release_grader", _grader)})
    assert log.status == "success", log.error
    assert log.eval.task == "nodesynth_tasks/medical_depth"  # what the published logs name too
    assert [score.name for score in log.results.scores][0] == "rubric_rater"
    assert log.results.scores[0].metrics["failure_rate"].value == 1.0
    ids = {s.id for s in medical_depth().dataset}
    assert {s.id for s in log.samples} <= ids and all(s.metadata["depth"] in (2, 3) for s in log.samples)
