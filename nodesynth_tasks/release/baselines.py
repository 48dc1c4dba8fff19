"""Human-written safety benchmarks, judged by the same rubric rater and grader as NodeSynth's queries.

    inspect eval nodesynth_tasks/baseline_ailuminate -T hazard=spc_hlt --model X --model-role grader=G

A failure-rate ratio between NodeSynth and a human benchmark means something only when both
were judged the same way; these tasks take every `nodesynth` argument (rubric, grader panel,
first pass, system prompt, ...) and give their samples the `nodesynth` metadata keys that apply
(domain, l1, l2, language, modality) beside the benchmark's own columns. Sample ids are the
benchmark's own. AILuminate's child-sexual-exploitation hazard (`cse`) is never loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample

from nodesynth_common.assets import asset_path

from .common import TaskArgumentError, asset_info, check_arguments, memory_task

EXCLUDED_HAZARDS = frozenset({"cse"})
AILUMINATE_HAZARDS = ("dfm", "hte", "ipv", "iwp", "ncr", "prv", "src", "ssh", "sxc_prn", "vcr",
                      "spc_ele", "spc_fin", "spc_hlt", "spc_lgl")
XSTEST_LABELS = ("unsafe", "safe", "all")


def _rows(path: Path) -> list[dict[str, str]]:
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").to_dict("records")


def _sample(id: str, text: str, domain: str, l1: str, l2: str | None, **extra: Any) -> Sample:
    metadata = {"domain": domain, "l1": l1, "l2": l2 or None, "language": "en", "modality": "text-to-text", **extra}
    return Sample(id=id, input=text, metadata=metadata)


def ailuminate_samples(path: Path) -> list[Sample]:
    """AILuminate's demo prompts, less any `cse` row (the upstream file has 100; the mirror's copy none)."""
    return [
        _sample(row["release_prompt_id"], row["prompt_text"], "AILuminate", row["hazard"], row["persona"],
                hazard=row["hazard"], persona=row["persona"], locale=row["locale"])
        for row in _rows(path)
        if row["hazard"].strip().casefold() not in EXCLUDED_HAZARDS
    ]


def _hazards(hazard: str | list[str] | None) -> set[str]:
    if hazard is None:
        return set(AILUMINATE_HAZARDS)
    wanted = {h.strip().casefold() for h in ([hazard] if isinstance(hazard, str) else hazard) for h in str(h).split(",") if h.strip()}
    if wanted & EXCLUDED_HAZARDS:
        raise TaskArgumentError("baseline_ailuminate never loads the cse (child sexual exploitation) hazard.")
    unknown = wanted - set(AILUMINATE_HAZARDS)
    if unknown or not wanted:
        raise TaskArgumentError(f"baseline_ailuminate: unknown hazard {', '.join(map(repr, sorted(unknown))) or repr(hazard)} "
                                f"(choose from {', '.join(AILUMINATE_HAZARDS)}).")
    return wanted


@task
def baseline_ailuminate(hazard: str | list[str] | None = None, **kwargs: Any) -> Task:
    """MLCommons AILuminate v1.0 demo prompts (en_US), every hazard but `cse` by default.

    Args:
      hazard: one hazard or several (spc_hlt, spc_fin, spc_ele, spc_lgl, hte, ...).
      **kwargs: any `nodesynth` argument; the rubric defaults to medical_disclosure when the
        only hazard is spc_hlt (specialised health advice, the paper's comparison), else
        harmful_compliance.
    """
    check_arguments("baseline_ailuminate", kwargs)
    hazards = _hazards(hazard)
    path = asset_path("ailuminate")
    rubric = "medical_disclosure" if hazards == {"spc_hlt"} else "harmful_compliance"
    info = asset_info("ailuminate", path, rubric=rubric, hazards=sorted(hazards))

    def keep(metadata: dict[str, Any]) -> bool:
        return metadata["hazard"] in hazards

    return memory_task("baseline_ailuminate", ailuminate_samples(path), info, dict(kwargs), where=keep)


@task
def baseline_simplesafetytests(**kwargs: Any) -> Task:
    """SimpleSafetyTests: 100 handcrafted prompts in five harm areas, judged by harmful_compliance by default."""
    path = asset_path("simplesafetytests")
    samples = [
        _sample(row["id"], row["prompts_final"], "SimpleSafetyTests", row["harm_area"], row["category"],
                harm_area=row["harm_area"], category=row["category"])
        for row in _rows(path)
    ]
    info = asset_info("simplesafetytests", path, rubric="harmful_compliance")
    return memory_task("baseline_simplesafetytests", samples, info, dict(kwargs))


@task
def baseline_xstest(label: str = "unsafe", **kwargs: Any) -> Task:
    """XSTest's 450 prompts: `label=unsafe` (200, harmful_compliance), `safe` (250, over_refusal) or `all` (harmful_compliance).

    Args:
      label: which prompts: unsafe, safe or all.
      **kwargs: any `nodesynth` argument.
    """
    check_arguments("baseline_xstest", kwargs)
    if label not in XSTEST_LABELS:
        raise TaskArgumentError(f"baseline_xstest: label {label!r} is not one of {', '.join(XSTEST_LABELS)}.")
    path = asset_path("xstest")
    samples = [
        _sample(f"xstest-{row['id']}", row["prompt"], "XSTest", row["type"], row["focus"],
                label=row["label"], type=row["type"], focus=row["focus"], note=row["note"])
        for row in _rows(path)
    ]
    rubric = "over_refusal" if label == "safe" else "harmful_compliance"

    def keep(metadata: dict[str, Any]) -> bool:
        return label == "all" or metadata["label"] == label

    return memory_task("baseline_xstest", samples, asset_info("xstest", path, rubric=rubric, label=label), dict(kwargs), where=keep)
