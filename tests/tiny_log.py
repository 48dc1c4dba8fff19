"""A real Inspect log with two scored samples, made in a second with mockllm (no tokenizer download)."""

from __future__ import annotations

from pathlib import Path

from inspect_ai import Task, eval
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import includes
from inspect_ai.solver import generate


def make_tiny_log(log_dir: Path) -> Path:
    """Samples `a` (answer "no", incorrect) and `b` (answer "match", correct), scored by `includes`."""
    outputs = [ModelOutput.from_content("mockllm/model", text) for text in ("no", "match")]
    for output in outputs:  # with usage given, Inspect does not fetch a tokenizer to count tokens
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    model = get_model("mockllm/model", memoize=False, custom_outputs=outputs)
    samples = [Sample(id="a", input="a", target="match"), Sample(id="b", input="b", target="match")]
    task = Task(dataset=MemoryDataset(samples), solver=generate(), scorer=includes())
    [log] = eval(task, model=model, display="none", log_dir=str(log_dir))
    assert log.status == "success", log.error
    return Path(log.location)
