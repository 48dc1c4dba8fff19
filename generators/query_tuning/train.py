"""Train the query-stage adapter on the curated rows: `python -m generators.query_tuning.train`.

The TaG's machinery (`generators.tag.train.train_chat_rows`) on `QueryRow`s: the build's query
request, the curated message as the reply. The defaults keep a CPU run near 10-20 minutes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..tag.train import ServeSpec, TrainConfig, TrainingCard, train_chat_rows
from .adapter import SHIPPED_QUERY_ADAPTER
from .data import CURATED_FILE, REPO_ROOT, TEMPLATE, load_rows

SERVE_ARGS = {"repetition_penalty": 1.15}
"""The embedded provider's default penalty: the adapter is served and benchmarked with it."""


def train_query_adapter(
    data_file: Path = CURATED_FILE, out_dir: Path = SHIPPED_QUERY_ADAPTER, config: TrainConfig | None = None
) -> TrainingCard:
    from nodesynth_tasks.embedded_model import ensure_converted

    from ..tag.data import file_sha256

    rows = load_rows(data_file)
    try:
        shown = str(Path(data_file).resolve().relative_to(REPO_ROOT))
    except ValueError:
        shown = str(data_file)
    return train_chat_rows(
        ensure_converted(), rows, out_dir, base_name="nodesynth/smollm2", data_file=Path(shown),
        data_sha256=file_sha256(data_file), prompt_template=TEMPLATE, stage="queries",
        config=config or TrainConfig(max_epochs=3, patience=1, train_layers=8, batch_size=8, held_out=0.15),
        serve=ServeSpec(model="nodesynth/smollm2", model_args=dict(SERVE_ARGS)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=SHIPPED_QUERY_ADAPTER)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    config = TrainConfig(max_epochs=args.epochs, patience=1, train_layers=8, batch_size=8, held_out=0.15, threads=args.threads)
    card = train_query_adapter(out_dir=args.out, config=config)
    print(json.dumps({k: v for k, v in card.model_dump().items() if k not in ("held_out_ids", "config")}, indent=1, default=str))


if __name__ == "__main__":
    main()
