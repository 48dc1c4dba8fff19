"""Train the query-stage adapter on the curated rows (`python -m nodesynth_tasks.query_adapter_train`).

The TaG's machinery (`generators.tag.train.train_chat_rows`) on `QueryRow`s: the build's query
request, the curated message as the reply. The defaults keep a CPU run near 10-20 minutes.
"""

from __future__ import annotations

from pathlib import Path

from ..tag.train import ServeSpec, TrainConfig, TrainingCard, train_chat_rows
from .adapter import SHIPPED_QUERY_ADAPTER
from .data import CURATED_FILE, REPO_ROOT, TEMPLATE, load_rows

SERVE_ARGS = {"repetition_penalty": 1.15}
"""The embedded provider's default penalty: the adapter is served and benchmarked with it."""


# float32: on a CPU without native bfloat16 (AVX2 only, like the CI machine) a bfloat16 matmul's
# backward pass is about 17x slower than float32's (measured: 1.45 s vs 0.083 s per 1400x576x1536).
DEFAULT_CONFIG = TrainConfig(max_epochs=3, patience=1, train_layers=8, batch_size=8, held_out=0.15, dtype="float32")


def train_query_adapter(
    base_folder: Path, data_file: Path = CURATED_FILE, out_dir: Path = SHIPPED_QUERY_ADAPTER, config: TrainConfig | None = None
) -> TrainingCard:
    """Train on `data_file` from the converted base model in `base_folder` (`embedded_model.ensure_converted()`)."""
    from ..tag.data import file_sha256

    rows = load_rows(data_file)
    try:
        shown = str(Path(data_file).resolve().relative_to(REPO_ROOT))
    except ValueError:
        shown = str(data_file)
    return train_chat_rows(
        base_folder, rows, out_dir, base_name="nodesynth/smollm2", data_file=Path(shown),
        data_sha256=file_sha256(data_file), prompt_template=TEMPLATE, stage="queries",
        config=config or DEFAULT_CONFIG,
        serve=ServeSpec(model="nodesynth/smollm2", model_args=dict(SERVE_ARGS)),
    )
