"""The shipped TaG adapter: present, trained on the shipped data, served through Inspect's model path."""

from __future__ import annotations

import json

import pytest

from generators.tag.adapter import (
    SHIPPED_ADAPTER,
    default_tag_model,
    shipped_adapter,
    tag_model_kwargs,
)
from generators.tag.data import CURATED_FILE, file_sha256, load_rows, split_rows
from generators.tag.train import read_card


def test_shipped_adapter_and_card() -> None:
    adapter = shipped_adapter()
    assert adapter == SHIPPED_ADAPTER
    card = read_card(adapter)
    assert card.base_model == "nodesynth/smollm2"
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == "nodesynth/smollm2"
    assert (adapter / "adapter_model.safetensors").stat().st_size < 10_000_000  # a few MB, fine to ship
    assert card.data_sha256 == file_sha256(CURATED_FILE), (
        "datasets/tag/curated_l3.jsonl changed since the shipped adapter was trained: retrain with "
        "`nodesynth tag train --out generators/tag/adapter` (about 10 minutes on 2 idle cores)"
    )
    rows = load_rows(CURATED_FILE)
    assert card.held_out_ids == sorted(row.id for row in split_rows(rows, card.config.seed, card.config.held_out).held_out)


def test_build_default_uses_the_tag_only_with_the_embedded_generator() -> None:
    name, kwargs = tag_model_kwargs(SHIPPED_ADAPTER)
    assert name == "nodesynth/smollm2" and kwargs["adapter"] == str(SHIPPED_ADAPTER)
    assert kwargs["repetition_penalty"] == read_card(SHIPPED_ADAPTER).serve.model_args["repetition_penalty"]
    assert set(kwargs) == {"adapter", "repetition_penalty"}
    assert default_tag_model("nodesynth/smollm2") == (name, kwargs)
    assert default_tag_model("openai/gpt-4o-mini") is None


@pytest.mark.slow
async def test_shipped_tag_answers_the_build_request() -> None:
    from generators.tag.adapter import get_tag_model
    from generators.tag.generate import generate_terms

    row = load_rows(CURATED_FILE)[0]
    result = await generate_terms(get_tag_model(), row)
    assert result.terms, result.rejects


def test_adapter_and_penalty_get_their_own_generate_cache_key(tmp_path) -> None:
    """Inspect's generate cache keys on model name and base URL, not model args: the embedded
    provider folds the output-changing args into its base URL, by the adapter's content."""
    import shutil

    from inspect_ai.model import get_model

    def key(**args: object) -> str | None:
        return get_model("nodesynth/smollm2", memoize=False, **args).api.base_url

    plain = key()
    tuned = key(adapter=str(SHIPPED_ADAPTER), repetition_penalty=1.15)
    assert plain is None  # the base model's cache entries are unchanged
    assert tuned is not None and tuned != key(repetition_penalty=1.15)
    assert key(adapter=str(SHIPPED_ADAPTER), repetition_penalty=1.3) != tuned
    # the same adapter elsewhere (another checkout) shares entries; a changed one does not
    copy = tmp_path / "copy"
    shutil.copytree(SHIPPED_ADAPTER, copy)
    assert key(adapter=str(copy), repetition_penalty=1.15) == tuned
    weights = copy / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    assert key(adapter=str(copy), repetition_penalty=1.15) != tuned
