"""The shipped query-stage adapter, and which query model a build uses by default.

Like the TaG (`generators.tag.adapter`): the embedded base model plus a LoRA adapter trained on
`datasets/query_tuning/curated_queries.jsonl`, served through the same in-process provider with
`get_model("nodesynth/smollm2", adapter=<dir>)`. Shipped in `generators/query_tuning/adapter/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..tag.adapter import ADAPTER_CONFIG, EMBEDDED_PREFIX, tag_model_kwargs

SHIPPED_QUERY_ADAPTER = Path(__file__).resolve().parent / "adapter"


def shipped_query_adapter() -> Path | None:
    """The query adapter shipped with the package, or None when it is absent (not yet trained)."""
    return SHIPPED_QUERY_ADAPTER if (SHIPPED_QUERY_ADAPTER / ADAPTER_CONFIG).is_file() else None


def default_query_model(generator: str, *, use_adapter: bool = True) -> tuple[str, dict[str, Any]] | None:
    """The model string and `get_model` kwargs for the query stage, or None for "the generator itself".

    With the embedded generator (`nodesynth/...`), the shipped tuned adapter: it was trained on the
    build's exact query request on the same base model. With any other generator, or with
    `use_adapter=False` (what `--query-model generator` sets), None.
    """
    adapter_dir = shipped_query_adapter()
    if not use_adapter or adapter_dir is None or not generator.startswith(EMBEDDED_PREFIX):
        return None
    return tag_model_kwargs(adapter_dir)  # reads the card's serve spec; nothing TaG-specific
