"""Inspect entry point: registers NodeSynth's tasks and model provider.

`inspect eval` imports every entry point at start, so nothing imported here may pull in torch
or transformers; the embedded model's implementation is imported only when it is used.
"""

# ruff: noqa: F401
from .nodesynth import nodesynth
from .presets import demo, education, elections, financial_advice, hate_speech, medical_advice

# the NodeSynth authors' release and human-written baselines, from pinned public files (no build)
from .release import (
    baseline_ailuminate,
    baseline_simplesafetytests,
    baseline_xstest,
    medical_depth,
    nodesynth_culture,
    nodesynth_medical,
)

# the embedded CPU model provider, `nodesynth/smollm2` (its torch work is imported lazily)
from .smollm2 import nodesynth_provider
