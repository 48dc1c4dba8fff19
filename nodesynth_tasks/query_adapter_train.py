"""Train the shipped query-stage adapter: `python -m nodesynth_tasks.query_adapter_train [--epochs N]`.

Resolves the embedded base model (converting its GGUF weights once) and runs
`generators.query_tuning.train.train_query_adapter`; the lead may fold this into a CLI command.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generators.query_tuning.adapter import SHIPPED_QUERY_ADAPTER
from generators.query_tuning.train import DEFAULT_CONFIG, train_query_adapter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=DEFAULT_CONFIG.max_epochs)
    parser.add_argument("--out", type=Path, default=SHIPPED_QUERY_ADAPTER)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()

    from .embedded_model import ensure_converted

    config = DEFAULT_CONFIG.model_copy(update={"max_epochs": args.epochs, "threads": args.threads})
    card = train_query_adapter(ensure_converted(), out_dir=args.out, config=config)
    print(json.dumps(card.model_dump(exclude={"held_out_ids", "config"}), indent=1, default=str))


if __name__ == "__main__":
    main()
