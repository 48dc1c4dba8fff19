"""Text sets: the prompts of one file (a dataset, a JSONL or a CSV), as the quality gates and the novelty check read them.

A build's `quality.benchmarks`, `nodesynth build --benchmark` and `nodesynth novelty` all name
prompt files the same way (`PATH` or `PATH:COLUMN`); reading them lives here, apart from both
users, so the gates and the novelty check do not depend on each other.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pydantic import BaseModel

from nodesynth_common.errors import NodeSynthError

TEXT_COLUMNS = ("input", "prompt", "prompt_text", "prompts_final", "prompts", "question", "text")
"""Columns tried, in order, when a file is given without one (`FILE:COLUMN` names it)."""


class TextSetError(NodeSynthError):
    """A query or reference file that cannot be read; one sentence naming the file or column."""


class TextSet(BaseModel):
    """Texts read from one file: a dataset directory, a JSONL or a CSV file."""

    name: str
    path: str
    column: str
    texts: list[str]
    ids: list[str]


def read_texts(spec: str, spec_path: Path | None = None) -> TextSet:
    """Texts from `PATH` or `PATH:COLUMN`: a dataset directory (its queries.jsonl), JSONL or CSV.

    A relative path is tried against the working directory, then against the folder of
    `spec_path` (the domain spec that names it) and each folder above it.
    """
    path_text, column = spec, None
    if not Path(spec).exists() and ":" in spec:
        path_text, column = spec.rsplit(":", 1)
    path = _resolve(Path(path_text).expanduser(), spec_path)
    if path.is_dir():
        path = path / "queries.jsonl"
    if not path.is_file():
        raise TextSetError(f"{path}: no such file (give a dataset directory, a .jsonl or a .csv file, optionally FILE:COLUMN).")
    try:
        if path.suffix == ".jsonl":
            rows = []
            for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
                if line.strip():
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise TextSetError(f"{path}: line {number} is not a JSON object.")
                    rows.append(row)
        elif path.suffix in (".csv", ".tsv", ".txt") or path.suffix == "":
            # utf-8-sig: spreadsheet exports start with a byte-order mark that would rename the first column
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ","))
        else:
            raise TextSetError(f"{path}: expected a dataset directory, a .jsonl or a .csv file.")
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as error:
        raise TextSetError(f"{path}: cannot be read as {'JSONL' if path.suffix == '.jsonl' else 'CSV'} ({error}).") from error
    if not rows:
        raise TextSetError(f"{path}: has no rows.")
    columns = list(rows[0])
    if column is None:
        column = next((name for name in TEXT_COLUMNS if name in columns), None)
        if column is None:
            raise TextSetError(f"{path}: no text column among {list(TEXT_COLUMNS)}; name one as {path}:COLUMN (columns: {columns}).")
    elif column not in columns:
        raise TextSetError(f"{path}: no column {column!r} (columns: {columns}).")
    texts, ids = [], []
    for number, row in enumerate(rows, start=1):
        text = row.get(column)
        if isinstance(text, str) and text.strip():
            texts.append(text)
            ids.append(str(row.get("id") or row.get("release_prompt_id") or f"{path.stem}:{number}"))
    if not texts:
        raise TextSetError(f"{path}: column {column!r} holds no text.")
    name = path.parent.name if path.name == "queries.jsonl" else path.stem
    return TextSet(name=name, path=str(path), column=column, texts=texts, ids=ids)


def _resolve(path: Path, spec_path: Path | None) -> Path:
    if path.is_absolute() or path.exists() or spec_path is None:
        return path
    folder = spec_path.resolve().parent
    return next((candidate for candidate in (folder / path, *(p / path for p in folder.parents)) if candidate.exists()), path)
