"""LoRA fine-tuning of the TaG on the CPU, with transformers and peft.

Each training row becomes the conversation the build sends for an L2 topic (the L3 prompt:
system message, worked example, request; `TagRow.messages`) followed by the reply the TaG
should give (`TagRow.target`, the build's `name: reason` lines, then end-of-turn). The loss is
on the reply only.

Two things make this fit a 2-core CPU without changing what is learned:

- **Only the top layers are adapted.** LoRA goes into the last `train_layers` decoder layers;
  the layers below are frozen, so their outputs for a row never change. They are computed once
  (`lower_states`) and each epoch runs only the adapted layers on top of them.
- **The shared prefix is computed once per batch.** Every row's conversation begins with the
  same system message and worked example (about 60% of its tokens). Each step runs that prefix
  once through the adapted layers and lets the whole batch attend to its keys and values, with
  gradients flowing through them, so the loss and its gradient are those of the full sequences.

`tests/generators/test_tag_train.py` checks both against a plain full-sequence forward.
"""

from __future__ import annotations

import copy
import json
import math
import os
import random
import resource
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict, Field

from nodesynth_common.errors import NodeSynthError
from nodesynth_common.output_files import check_output_folder

from .data import TagDataError, TagRow, split_rows

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

CARD_JSON = "training_card.json"
CARD_MD = "README.md"
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class TrainError(NodeSynthError):
    """Training that cannot start (bad base model folder, data too long, ...); one sentence."""


class TrainConfig(BaseModel):
    """Hyperparameters; all recorded in the training card."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(0, description="seed of the train / held-out split, the batch order and LoRA init")
    held_out: float = Field(0.1, gt=0, lt=1, description="share of rows held out, per language")
    max_epochs: int = Field(5, ge=1, description="epochs at most")
    patience: int = Field(1, ge=0, description="epochs without a lower validation loss before stopping")
    learning_rate: float = Field(2e-3, gt=0)
    warmup_ratio: float = Field(0.05, ge=0, lt=1, description="linear warm-up share of the planned steps")
    batch_size: int = Field(8, ge=1)
    lora_rank: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.0, ge=0, lt=1)
    train_layers: int = Field(8, ge=1, description="top decoder layers that get LoRA (more than the model has: all)")
    target_modules: list[str] = Field(default_factory=lambda: list(LORA_TARGETS))
    max_length: int = Field(512, ge=16, description="longest row in tokens (prompt + reply)")
    dtype: Literal["bfloat16", "float32"] = Field(
        "bfloat16", description="frozen weights' dtype while training (LoRA weights stay float32)"
    )
    threads: int | None = Field(None, ge=1, description="torch threads (default: all cores)")


class EpochMetrics(BaseModel):
    epoch: int
    train_loss: float
    val_loss: float
    seconds: float
    best: bool


class ServeSpec(BaseModel):
    """How the build serves this adapter: an Inspect model string and its model args."""

    model: str
    model_args: dict[str, Any] = Field(default_factory=dict)


class TrainingCard(BaseModel):
    """What was trained, on what, how, and how it went (`training_card.json` in the adapter dir)."""

    base_model: str
    base_folder_sha256: str = Field(description="sha256 of the base weights file the adapter was trained on")
    data_file: str
    data_sha256: str
    rows: int
    train_rows: int
    held_out_rows: int
    held_out_ids: list[str]
    languages: dict[str, int]
    prompt_template_sha256: str = Field(description="sha256 of the stage's prompt template (prompts/<name>.yaml) at training time")
    stage: str = Field("tag", description="the build stage the adapter serves: tag (L3 terms) or queries")
    config: TrainConfig
    trainable_parameters: int
    shared_prefix_tokens: int
    mean_row_tokens: float
    epochs: list[EpochMetrics]
    best_epoch: int
    best_val_loss: float
    stopped_early: bool
    wall_seconds: float
    cpu_seconds: float = Field(description="process CPU time (user + system); wall time on an idle machine is about this / threads")
    threads: int
    load_average: float = Field(description="1-minute load average at the end: above the thread count, other work shared the CPU")
    lower_pass_seconds: float
    peak_memory_mb: float
    versions: dict[str, str]
    created_at: str
    serve: ServeSpec


class Progress(Protocol):
    """Draws progress (the CLI passes rich bars; the same protocol as the build's)."""

    def stage(self, name: str, total: int) -> Callable[[], None]: ...


class _Silent:
    def stage(self, name: str, total: int) -> Callable[[], None]:
        return lambda: None


# --- encoding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One row as token ids: the rendered prompt, then the reply and end-of-turn."""

    row_id: str
    ids: list[int]
    target_start: int


class ChatRow(Protocol):
    """A training row of any stage: the conversation the build sends, and the reply to learn."""

    @property
    def id(self) -> str: ...
    @property
    def language(self) -> str: ...
    def messages(self) -> Sequence[Any]: ...
    def target(self) -> str: ...


def chat_dicts(row: ChatRow) -> list[dict[str, str]]:
    """The row's conversation as chat-template dicts, as the embedded model renders messages."""
    return [{"role": message.role, "content": message.text} for message in row.messages()]


def encode_rows(tokenizer: PreTrainedTokenizerBase, rows: Sequence[ChatRow], max_length: int) -> list[Example]:
    """Token ids of each row, rendered with the model's chat template exactly as at generation.

    The prompt is rendered with the generation prompt and tokenised without extra special tokens
    (as `nodesynth_tasks.embedded_model` does); the reply is tokenised on its own, as the model
    writes it token by token after that prompt, then the end-of-turn token that stops generation.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise TrainError("the base model's tokenizer has no end-of-turn (eos) token.")
    examples = []
    for row in rows:
        prompt = tokenizer.apply_chat_template(chat_dicts(row), tokenize=False, add_generation_prompt=True)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        target_ids = tokenizer(row.target(), add_special_tokens=False)["input_ids"] + [eos]
        ids = list(prompt_ids) + list(target_ids)
        if len(ids) > max_length:
            raise TagDataError(f"row {row.id} is {len(ids)} tokens, longer than max_length {max_length}.")
        examples.append(Example(row_id=row.id, ids=ids, target_start=len(prompt_ids)))
    return examples


def shared_prefix_length(examples: Sequence[Example]) -> int:
    """Tokens every example starts with (the system message and worked example), short of any reply."""
    if not examples:
        return 0
    first = examples[0].ids
    length = min(min(example.target_start for example in examples), len(first))
    for example in examples[1:]:
        limit = min(length, len(example.ids))
        same = 0
        while same < limit and example.ids[same] == first[same]:
            same += 1
        length = same
    # at least one token of each example must follow the prefix (the one predicting the reply)
    return max(0, min(length, min(example.target_start for example in examples) - 1))


# --- running a slice of the decoder -------------------------------------------------------


@contextmanager
def decoder_slice(model: PreTrainedModel, start: int, stop: int, *, final_norm: bool) -> Iterator[Any]:
    """The model's decoder (`model.model`) running only layers [start, stop).

    For the duration, the decoder's layer list is the slice, its layers are numbered from 0 (the
    key/value cache is indexed by layer number) and, without `final_norm`, the last norm is skipped
    so the output is the hidden state layer `stop` takes as input. Everything is restored after.
    """
    import torch

    decoder = model.get_decoder()
    layers, norm = decoder.layers, decoder.norm
    numbers = [layer.self_attn.layer_idx for layer in layers]
    decoder.layers = torch.nn.ModuleList(list(layers)[start:stop])
    for index, layer in enumerate(decoder.layers):
        layer.self_attn.layer_idx = index
    if not final_norm:
        decoder.norm = torch.nn.Identity()
    try:
        yield decoder
    finally:
        decoder.layers, decoder.norm = layers, norm
        for layer, number in zip(layers, numbers, strict=False):
            layer.self_attn.layer_idx = number


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """No "Loading weights" bars from transformers over the training progress; nothing fetched."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    offline = os.environ.get("HF_HUB_OFFLINE")
    hf_logging.disable_progress_bar()
    os.environ["HF_HUB_OFFLINE"] = "1"  # local folders only: never reach for the Hub
    try:
        yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()
        if offline is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = offline


def _pad(sequences: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad a list of [length, ...] tensors; returns the batch and its attention mask."""
    import torch

    width = max(len(sequence) for sequence in sequences)
    batch = sequences[0].new_zeros((len(sequences), width, *sequences[0].shape[1:]))
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, sequence in enumerate(sequences):
        batch[i, : len(sequence)] = sequence
        mask[i, : len(sequence)] = 1
    return batch, mask


@dataclass
class LowerStates:
    """The frozen layers' output: for the shared prefix, and for each example's remainder."""

    prefix: torch.Tensor  # [prefix_len, hidden]
    suffixes: list[torch.Tensor]  # [len(ids) - prefix_len, hidden] each


def lower_states(
    model: PreTrainedModel,
    examples: Sequence[Example],
    prefix_len: int,
    split: int,
    batch_size: int,
    advance: Callable[[], None] = lambda: None,
) -> LowerStates:
    """Run the frozen layers [0, split) once: the prefix alone, then every remainder against its cache."""
    import torch
    from transformers import DynamicCache

    if split == 0:  # every layer is adapted: the frozen part is the embedding lookup alone
        embed = model.get_input_embeddings()
        with torch.no_grad():
            prefix = embed(torch.tensor(examples[0].ids[:prefix_len], dtype=torch.long)).clone()
            suffixes_embedded = [embed(torch.tensor(example.ids[prefix_len:])).clone() for example in examples]
        advance()
        return LowerStates(prefix=prefix, suffixes=suffixes_embedded)
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].ids))
    suffixes: list[torch.Tensor | None] = [None] * len(examples)
    with torch.no_grad(), decoder_slice(model, 0, split, final_norm=False) as decoder:
        prefix_cache = DynamicCache()
        prefix_ids = torch.tensor([examples[0].ids[:prefix_len]])
        prefix = (
            decoder(input_ids=prefix_ids, past_key_values=prefix_cache, use_cache=True).last_hidden_state[0]
            if prefix_len
            else model.get_input_embeddings()(prefix_ids[0])
        )
        for begin in range(0, len(order), batch_size):
            chunk = order[begin : begin + batch_size]
            ids, mask = _pad([torch.tensor(examples[i].ids[prefix_len:]) for i in chunk])
            cache = copy.deepcopy(prefix_cache)
            cache.batch_repeat_interleave(len(chunk))
            full_mask = torch.cat([torch.ones((len(chunk), prefix_len), dtype=torch.long), mask], dim=1)
            hidden = decoder(input_ids=ids, attention_mask=full_mask, past_key_values=cache, use_cache=True).last_hidden_state
            for row, i in enumerate(chunk):
                suffixes[i] = hidden[row, : int(mask[row].sum())].clone()
            advance()
    return LowerStates(prefix=prefix.clone(), suffixes=[s for s in suffixes if s is not None])


def batch_loss(
    model: PreTrainedModel,
    decoder: Any,
    states: LowerStates,
    examples: Sequence[Example],
    indices: Sequence[int],
    prefix_len: int,
) -> tuple[torch.Tensor, int]:
    """Summed cross-entropy of the replies of `indices`, run through the adapted layers.

    `decoder` is the adapted slice (from `decoder_slice`). The prefix runs once with gradients;
    its keys and values are repeated for the batch, which attends to them like a full sequence.
    """
    import torch
    from transformers import DynamicCache

    cache = DynamicCache()
    if prefix_len:
        decoder(inputs_embeds=states.prefix[None], past_key_values=cache, use_cache=True)
        cache.batch_repeat_interleave(len(indices))
    hidden_in, mask = _pad([states.suffixes[i] for i in indices])
    full_mask = torch.cat([torch.ones((len(indices), prefix_len), dtype=torch.long), mask], dim=1)
    hidden = decoder(inputs_embeds=hidden_in, attention_mask=full_mask, past_key_values=cache, use_cache=True).last_hidden_state

    # the hidden state at position t predicts token t + 1: gather the positions before each reply token
    rows, positions, labels = [], [], []
    for row, i in enumerate(indices):
        example = examples[i]
        for t in range(example.target_start, len(example.ids)):
            rows.append(row)
            positions.append(t - 1 - prefix_len)
            labels.append(example.ids[t])
    selected = hidden[torch.tensor(rows), torch.tensor(positions)]
    logits = model.get_output_embeddings()(selected).float()
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(labels), reduction="sum")
    return loss, len(labels)


def full_sequence_loss(model: PreTrainedModel, examples: Sequence[Example]) -> float:
    """Mean reply cross-entropy by a plain forward over whole sequences (the reference the tests use)."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for example in examples:
            ids = torch.tensor([example.ids])
            logits = model(input_ids=ids).logits[0].float()
            targets = ids[0, example.target_start :]
            predicted = logits[example.target_start - 1 : len(example.ids) - 1]
            total += float(torch.nn.functional.cross_entropy(predicted, targets, reduction="sum"))
            count += len(targets)
    return total / max(count, 1)


# --- the training run -------------------------------------------------------------------


def should_stop(epoch: int, best_epoch: int, patience: int) -> bool:
    """Early stopping: more than `patience` epochs since the lowest validation loss."""
    return epoch - best_epoch > patience


def _batches(examples: Sequence[Example], indices: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of similar length (less padding); the caller shuffles their order each epoch."""
    ordered = sorted(indices, key=lambda i: (len(examples[i].ids), examples[i].row_id))
    return [ordered[begin : begin + batch_size] for begin in range(0, len(ordered), batch_size)]


def _versions() -> dict[str, str]:
    found = {}
    for package in ("torch", "transformers", "peft", "inspect-ai", "nodesynth-tasks", "nodesynth-inspect"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux: the process's peak resident memory so far
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _weights_sha256(folder: Path) -> str:
    from .data import file_sha256

    weights = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    return file_sha256(weights[0]) if weights else ""


def train_tag(
    base_folder: Path,
    rows: Sequence[TagRow],
    out_dir: Path,
    *,
    base_name: str,
    data_file: Path,
    data_sha256: str,
    config: TrainConfig | None = None,
    serve: ServeSpec | None = None,
    progress: Progress | None = None,
) -> TrainingCard:
    """Fine-tune the TaG's LoRA adapter (the L3 prompt, `prompts/l3_terms.yaml`); see `train_chat_rows`."""
    from ..terms import TEMPLATE

    return train_chat_rows(
        base_folder, rows, out_dir, base_name=base_name, data_file=data_file, data_sha256=data_sha256,
        prompt_template=TEMPLATE, stage="tag", config=config, serve=serve, progress=progress,
    )


def train_chat_rows(
    base_folder: Path,
    rows: Sequence[ChatRow],
    out_dir: Path,
    *,
    base_name: str,
    data_file: Path,
    data_sha256: str,
    prompt_template: str,
    stage: str,
    config: TrainConfig | None = None,
    serve: ServeSpec | None = None,
    progress: Progress | None = None,
) -> TrainingCard:
    """Fine-tune a LoRA adapter for the base model in `base_folder` on `rows`; save it to `out_dir`.

    Any stage's rows: each gives the conversation the build sends (`messages()`) and the reply to
    learn (`target()`); `prompt_template` names the stage's prompt file, whose hash the card keeps.
    Writes the adapter (`adapter_config.json`, `adapter_model.safetensors`) and the training card
    (`training_card.json`, `README.md`). The adapter saved is the epoch with the lowest
    validation loss; training stops after `patience` epochs without a new lowest. An `out_dir`
    that cannot be a folder raises OutputPathError before training starts.
    """
    check_output_folder(Path(out_dir), "--out")
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ..llm import PROMPTS_DIR
    from .data import file_sha256

    config = config or TrainConfig()
    progress = progress or _Silent()
    started = time.monotonic()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads or os.cpu_count() or 1)

    if not (Path(base_folder) / "config.json").is_file():
        raise TrainError(f"base model folder {base_folder} has no config.json.")
    dtype = torch.bfloat16 if config.dtype == "bfloat16" else torch.float32
    with _quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(str(base_folder), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(base_folder), dtype=dtype, local_files_only=True)
    model.eval()  # no dropout in the frozen layers; LoRA dropout is its own setting
    for parameter in model.parameters():
        parameter.requires_grad_(False)

    split = split_rows(rows, seed=config.seed, held_out=config.held_out)  # type: ignore[arg-type]  # needs id and language only
    if not split.train or not split.held_out:
        raise TrainError(f"{len(rows)} rows are too few for a train / held-out split.")
    train_examples = encode_rows(tokenizer, split.train, config.max_length)
    val_examples = encode_rows(tokenizer, split.held_out, config.max_length)
    examples = train_examples + val_examples
    prefix_len = shared_prefix_length(examples)
    layer_count = int(model.config.num_hidden_layers)
    adapted = min(config.train_layers, layer_count)
    first_adapted = layer_count - adapted

    lower_started = time.monotonic()
    states = lower_states(
        model,
        examples,
        prefix_len,
        first_adapted,
        config.batch_size,
        progress.stage("frozen layers", math.ceil(len(examples) / config.batch_size)),
    )
    lower_seconds = time.monotonic() - lower_started

    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        layers_to_transform=list(range(first_adapted, layer_count)),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():
        # peft calls a transformers method that transformers 5 renamed; the warning is not ours to fix
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        peft_model = get_peft_model(model, lora)
    peft_model.peft_config["default"].base_model_name_or_path = base_name
    trainable = [parameter for parameter in peft_model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.0)

    train_indices = list(range(len(train_examples)))
    val_indices = list(range(len(train_examples), len(examples)))
    train_batches = _batches(examples, train_indices, config.batch_size)
    val_batches = _batches(examples, val_indices, config.batch_size)
    planned_steps = config.max_epochs * len(train_batches)
    warmup = max(1, int(planned_steps * config.warmup_ratio))

    def rate(step: int) -> float:
        # linear warm-up, then linear decay to zero at the last planned step
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (planned_steps - step) / max(1, planned_steps - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    model_for_heads = cast("PreTrainedModel", peft_model.get_base_model())  # peft types it as a plain Module
    history: list[EpochMetrics] = []
    best_loss, best_epoch = math.inf, 0
    best_state: list[torch.Tensor] | None = None
    stopped_early = False
    with decoder_slice(model_for_heads, first_adapted, layer_count, final_norm=True) as decoder:
        for epoch in range(1, config.max_epochs + 1):
            epoch_started = time.monotonic()
            peft_model.train()
            order = list(train_batches)
            random.Random(f"{config.seed}:{epoch}").shuffle(order)
            advance = progress.stage(f"epoch {epoch}", len(order) + len(val_batches))
            train_total, train_tokens = 0.0, 0
            for indices in order:
                loss, tokens = batch_loss(model_for_heads, decoder, states, examples, indices, prefix_len)
                optimizer.zero_grad(set_to_none=True)
                (loss / tokens).backward()
                optimizer.step()
                scheduler.step()
                train_total += float(loss.detach())
                train_tokens += tokens
                advance()
            peft_model.eval()
            val_total, val_tokens = 0.0, 0
            with torch.no_grad():
                for indices in val_batches:
                    loss, tokens = batch_loss(model_for_heads, decoder, states, examples, indices, prefix_len)
                    val_total += float(loss)
                    val_tokens += tokens
                    advance()
            val_loss = val_total / max(val_tokens, 1)
            improved = val_loss < best_loss
            if improved:
                best_loss, best_epoch = val_loss, epoch
                # by parameter, not by state-dict name: inside decoder_slice the layers are renumbered
                best_state = [parameter.detach().clone() for parameter in trainable]
            history.append(
                EpochMetrics(
                    epoch=epoch,
                    train_loss=round(train_total / max(train_tokens, 1), 4),
                    val_loss=round(val_loss, 4),
                    seconds=round(time.monotonic() - epoch_started, 1),
                    best=improved,
                )
            )
            if should_stop(epoch, best_epoch, config.patience):
                stopped_early = epoch < config.max_epochs
                break

    if best_state is not None:
        with torch.no_grad():
            for parameter, best in zip(trainable, best_state, strict=False):
                parameter.copy_(best)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # save_embedding_layers=False: the embeddings are not adapted, and "auto" would look the base
    # model's name up on the Hub to check its vocabulary
    peft_model.save_pretrained(str(out_dir), save_embedding_layers=False)
    for saved in out_dir.iterdir():
        if saved.is_file():
            saved.chmod(0o644)  # safetensors writes owner-only files; the adapter is shipped and shared
    languages: dict[str, int] = {}
    for row in split.held_out:
        languages[row.language] = languages.get(row.language, 0) + 1
    card = TrainingCard(
        base_model=base_name,
        base_folder_sha256=_weights_sha256(Path(base_folder)),
        data_file=str(data_file),
        data_sha256=data_sha256,
        rows=len(rows),
        train_rows=len(split.train),
        held_out_rows=len(split.held_out),
        held_out_ids=sorted(row.id for row in split.held_out),
        languages=dict(sorted(languages.items())),
        prompt_template_sha256=file_sha256(PROMPTS_DIR / f"{prompt_template}.yaml"),
        stage=stage,
        config=config,
        trainable_parameters=sum(parameter.numel() for parameter in trainable),
        shared_prefix_tokens=prefix_len,
        mean_row_tokens=round(sum(len(example.ids) for example in examples) / len(examples), 1),
        epochs=history,
        best_epoch=best_epoch,
        best_val_loss=round(best_loss, 4),
        stopped_early=stopped_early,
        wall_seconds=round(time.monotonic() - started, 1),
        cpu_seconds=round(_cpu_seconds(), 1),
        threads=torch.get_num_threads(),
        load_average=round(os.getloadavg()[0], 2),
        lower_pass_seconds=round(lower_seconds, 1),
        peak_memory_mb=round(_peak_memory_mb(), 1),
        versions=_versions(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        serve=serve or ServeSpec(model=base_name, model_args={}),
    )
    write_card(out_dir, card)
    return card


# --- the card ---------------------------------------------------------------------------


def write_card(out_dir: Path, card: TrainingCard) -> None:
    """`training_card.json` (read back by eval and the build) and a readable `README.md`."""
    (Path(out_dir) / CARD_JSON).write_text(card.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (Path(out_dir) / CARD_MD).write_text(render_card(card), encoding="utf-8")


def read_card(adapter_dir: Path) -> TrainingCard:
    path = Path(adapter_dir) / CARD_JSON
    try:
        return TrainingCard.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TrainError(f"adapter {adapter_dir} has no readable {CARD_JSON}: {error.strerror or error}.") from error
    except ValueError as error:
        raise TrainError(f"{path} is not a valid training card: {str(error).splitlines()[0]}.") from error


def render_card(card: TrainingCard) -> str:
    config = card.config
    epochs = "\n".join(
        f"| {e.epoch} | {e.train_loss:.4f} | {e.val_loss:.4f} | {e.seconds:.0f} |{' best' if e.best else ''}"
        for e in card.epochs
    )
    title, intro, loss, figures = _STAGE_TEXT.get(card.stage, _STAGE_TEXT["tag"])
    return f"""# {title}: training card

A LoRA adapter that turns `{card.base_model}` into {intro}

Served by the build as `{card.serve.model}` with model args `{json.dumps(card.serve.model_args)}`.

| what | value |
|---|---|
| base model | `{card.base_model}` (weights sha256 `{card.base_folder_sha256[:16]}…`) |
| data | `{card.data_file}` (sha256 `{card.data_sha256}`) |
| rows | {card.rows}: {card.train_rows} train, {card.held_out_rows} held out (seed {config.seed}, {config.held_out:.0%} per language) |
| held-out rows per language | {", ".join(f"{k} {v}" for k, v in card.languages.items())} |
| prompt template sha256 | `{card.prompt_template_sha256}` |
| LoRA | rank {config.lora_rank}, alpha {config.lora_alpha}, dropout {config.lora_dropout}, top {config.train_layers} layers, {", ".join(config.target_modules)} |
| trainable parameters | {card.trainable_parameters:,} |
| optimiser | AdamW, learning rate {config.learning_rate}, {config.warmup_ratio:.0%} warm-up then linear decay, batch {config.batch_size} |
| epochs | at most {config.max_epochs}, early stopping patience {config.patience}; best epoch {card.best_epoch} (validation loss {card.best_val_loss:.4f}){", stopped early" if card.stopped_early else ""} |
| frozen weights dtype | {config.dtype} |
| shared prompt prefix | {card.shared_prefix_tokens} tokens of {card.mean_row_tokens:.0f} per row on average |
| wall time | {card.wall_seconds:.0f} s (frozen-layer pass {card.lower_pass_seconds:.0f} s), {card.threads} threads |
| CPU time | {card.cpu_seconds:.0f} s; 1-minute load average at the end {card.load_average:.1f}{" (above the thread count: other work shared the CPU)" if card.load_average > card.threads else ""} |
| peak memory (process RSS) | {card.peak_memory_mb:.0f} MB |
| versions | {", ".join(f"{k} {v}" for k, v in card.versions.items())} |
| created | {card.created_at} |

| epoch | train loss | validation loss | seconds |
|---|---|---|---|
{epochs}

The loss is the mean cross-entropy per reply token ({loss} and end-of-turn).
{figures}
"""


_STAGE_TEXT = {
    "tag": (
        "TaG adapter",
        """the NodeSynth taxonomy generator (TaG): given a
domain, an L1 category, an L2 topic, a country and a language (the build's L3 prompt,
`generators/prompts/l3_terms.yaml`), it writes three L3 terms as `name: reason` lines.""",
        "the `name: reason` lines",
        "Held-out term Jaccard, base vs tuned: `nodesynth tag eval --adapter <this dir>`.",
    ),
    "queries": (
        "Query-stage adapter",
        """the build's query writer: given a user group, a
country, a taxonomy path, a language and a modality (the build's query prompt,
`generators/prompts/query.yaml`), it writes the message that person would send, in their own voice.""",
        "the message",
        "Held-out on-topic and assistant-voice shares, base vs tuned: `python benchmarks/query_adapter.py`.",
    ),
}
