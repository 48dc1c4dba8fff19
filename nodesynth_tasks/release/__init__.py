"""Published experiments on any model: the NodeSynth authors' release and human-written baselines as tasks.

Nothing to build or import first; the files are pinned assets (`nodesynth_common.assets`).
"""

from .authors import medical_depth, nodesynth_culture, nodesynth_medical
from .baselines import baseline_ailuminate, baseline_simplesafetytests, baseline_xstest

__all__ = [
    "baseline_ailuminate",
    "baseline_simplesafetytests",
    "baseline_xstest",
    "medical_depth",
    "nodesynth_culture",
    "nodesynth_medical",
]
