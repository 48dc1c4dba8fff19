"""The shipped TaG adapter, and how a build serves an adapter through Inspect's model path.

The tuned TaG is the embedded base model plus a LoRA adapter: `get_model("nodesynth/smollm2",
adapter=<dir>)`, the same in-process provider as every other embedded call. The adapter trained
on `datasets/tag/curated_l3.jsonl` ships in this package (`generators/tag/adapter/`, a few MB
with its training card), so a fresh checkout or install has the tuned TaG without training.

Inspect's generate cache keys on the model name, base URL, config and messages, not on model
args; the embedded provider therefore folds the adapter's content hash and its serving args into
its base URL, which keeps base and tuned cache entries apart (and a retrained adapter from
replaying an old one's answers).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nodesynth_common.errors import NodeSynthError

if TYPE_CHECKING:
    from inspect_ai.model import GenerateConfig, Model

SHIPPED_ADAPTER = Path(__file__).resolve().parent / "adapter"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
EMBEDDED_PREFIX = "nodesynth/"


class AdapterError(NodeSynthError):
    """An adapter directory that cannot be served; one sentence naming the directory."""


def shipped_adapter() -> Path | None:
    """The adapter shipped with the package, or None when it is absent (e.g. not yet trained)."""
    return SHIPPED_ADAPTER if (SHIPPED_ADAPTER / ADAPTER_CONFIG).is_file() else None


def tag_model_kwargs(adapter_dir: Path) -> tuple[str, dict[str, Any]]:
    """The model string and `get_model` keyword arguments that serve `adapter_dir` as the TaG.

    Read from the adapter's training card (`serve`: the base model and its model args, e.g. the
    repetition penalty it was evaluated with); the adapter path is made absolute.
    """
    from .train import TrainError, read_card

    adapter_dir = Path(adapter_dir).resolve()
    if not (adapter_dir / ADAPTER_CONFIG).is_file():
        raise AdapterError(f"{adapter_dir} is not a PEFT adapter directory (it has no {ADAPTER_CONFIG}).")
    try:
        serve = read_card(adapter_dir).serve
    except TrainError as error:
        raise AdapterError(str(error)) from error
    return serve.model, {**serve.model_args, "adapter": str(adapter_dir)}


def get_tag_model(adapter_dir: Path | None = None, config: GenerateConfig | None = None) -> Model:
    """The tuned TaG as an Inspect model (the shipped adapter by default)."""
    from inspect_ai.model import GenerateConfig, get_model

    adapter_dir = adapter_dir or shipped_adapter()
    if adapter_dir is None:
        raise AdapterError(f"no TaG adapter is shipped at {SHIPPED_ADAPTER}; train one with `nodesynth tag train`.")
    name, kwargs = tag_model_kwargs(adapter_dir)
    return get_model(name, config=config or GenerateConfig(), memoize=False, **kwargs)


def default_tag_model(generator: str) -> tuple[str, dict[str, Any]] | None:
    """What the build should use for L3 terms when no tag model is given, or None for "the generator".

    With the embedded generator, the shipped tuned TaG: it was trained for exactly the build's L3
    request on the same base model. With any other generator (a stronger hosted model), the
    generator itself, which knows more than a 135M model however tuned.
    """
    adapter_dir = shipped_adapter()
    if adapter_dir is None or not generator.startswith(EMBEDDED_PREFIX):
        return None
    return tag_model_kwargs(adapter_dir)
