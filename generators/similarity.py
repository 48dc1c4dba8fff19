"""Lexical similarity of texts: shingles, the Jaccard index, a MinHash LSH index, nearest match, distinct-n.

One module so that every measure the project reports means the same thing wherever it is used:
the build's near-duplicate and benchmark gates (`generators/quality.py`), the novelty check
(`generators/novelty.py`) and the TaG metric (`generators/tag/jaccard.py`) all call these.

Texts are compared as sets of character 5-grams of their normalised form (`normalise_text`):
long enough that unrelated texts share few, short enough that a one-word edit keeps most.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from statistics import fmean
from typing import TypeVar

import numpy as np
import regex
from datasketch import MinHash, MinHashLSH

SHINGLE = 5
"""Characters per shingle: long enough that unrelated texts share few, short enough for small edits."""
NUM_PERM = 128
_SPACES = re.compile(r"\s+")
_NOT_WORD = regex.compile(r"[\p{P}\p{S}]")

T = TypeVar("T")


def normalise_text(text: str) -> str:
    """Case-folded, NFKC, punctuation and symbols removed, whitespace collapsed: what near-copies share.

    Removal is by Unicode category (P*, S*), so the combining vowel signs of Devanagari, Thai
    and other scripts stay inside their words.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", text)).strip()


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """The character n-grams of the normalised text (the whole text when shorter than n)."""
    text = normalise_text(text)
    if len(text) <= size:
        return {text} if text else set()
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def word_ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    """The word n-grams of the normalised text, in order and with repeats (distinct-n counts them)."""
    words = normalise_text(text).split()
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def jaccard(left: set[T], right: set[T], *, both_empty: float) -> float:
    """|A ∩ B| / |A ∪ B|, and `both_empty` when both sets are empty.

    The index is undefined for two empty sets, and the right answer depends on the question, so
    every caller states it: the TaG metric counts "no terms" against "no terms" as agreement (1.0);
    the near-duplicate gate counts two texts with no shingles as sharing nothing (0.0).
    """
    if not 0.0 <= both_empty <= 1.0:
        raise ValueError(f"both_empty must be a Jaccard value in [0, 1], not {both_empty!r}")
    union = left | right
    return len(left & right) / len(union) if union else both_empty


@cache
def _template() -> MinHash:
    return MinHash(num_perm=NUM_PERM)


class SimilarityIndex:
    """Texts indexed for "which indexed text is most like this one?", in sub-linear time.

    LSH proposes candidates whose estimated Jaccard is likely above `threshold`; each is then
    confirmed with the exact Jaccard of the shingle sets, so no pair is reported above the
    threshold that is not, and the similarity reported is exact.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        # LSH only proposes candidates; tuned for recall (a missed pair is a kept near-copy, an
        # extra candidate costs one exact check): a lower threshold, false negatives weighted
        # 19:1. One-word edits of a 19-word query at 0.70-0.75 are all found (a plain LSH at
        # 0.7 missed half). The band count also stays >= 2 up to a gate threshold of 1.0.
        self._lsh = MinHashLSH(threshold=max(0.05, min(threshold - 0.1, 0.85)), num_perm=NUM_PERM, weights=(0.05, 0.95))
        self._shingles: dict[str, set[str]] = {}
        self._last: tuple[str, set[str], MinHash] | None = None  # nearest()'s work, reused by add() of the same text

    def __len__(self) -> int:
        return len(self._shingles)

    @staticmethod
    def _minhash(grams: set[str]) -> MinHash:
        # the permutations are the same for every MinHash (seed 1); drawing them anew cost half the gate's time
        template = _template()
        minhash = MinHash(num_perm=NUM_PERM, permutations=template.permutations, scheme=template.scheme)
        minhash.update_batch([gram.encode("utf-8") for gram in grams])
        return minhash

    def _shingled(self, text: str) -> tuple[set[str], MinHash | None]:
        if self._last is not None and self._last[0] == text:
            return self._last[1], self._last[2]
        return shingles(text), None

    def add(self, key: str, text: str) -> None:
        """Index `text` under `key`; a text with no shingles, or a key already present, is skipped."""
        grams, minhash = self._shingled(text)
        if not grams or key in self._shingles:
            return
        self._shingles[key] = grams
        self._lsh.insert(key, minhash if minhash is not None else self._minhash(grams))

    def nearest(self, text: str) -> tuple[str, float] | None:
        """The most similar indexed text at or above the threshold, as (key, exact Jaccard)."""
        grams, minhash = self._shingled(text)
        if not grams:
            return None
        minhash = minhash if minhash is not None else self._minhash(grams)
        self._last = (text, grams, minhash)
        if not self._shingles:
            return None
        best: tuple[str, float] | None = None
        for key in self._lsh.query(minhash):
            score = jaccard(grams, self._shingles[key], both_empty=0.0)  # grams is never empty here
            if score >= self.threshold and (best is None or score > best[1] or (score == best[1] and key < best[0])):
                best = (key, score)
        return best


def nearest_jaccard(
    texts: Sequence[str], reference: Sequence[str] | None = None, rows: Sequence[int] | None = None
) -> list[tuple[int, float]]:
    """For each text (or each of `rows`, indices into `texts`), (index, exact 5-gram Jaccard) of
    its most similar reference text.

    Without `reference`, the other texts are the reference (a text is never its own nearest).
    Exact, computed as sparse shingle-matrix products in blocks of rows: 10,000 texts against
    10,000 take seconds. (-1, 0.0) when nothing shares a shingle: two texts without shingles
    share nothing (the `both_empty=0.0` rule of the gates).
    """
    from scipy import sparse

    self_reference = reference is None
    vocabulary: dict[str, int] = {}

    def matrix(items: Sequence[str]) -> sparse.csr_matrix:
        rows, cols = [], []
        for row, text in enumerate(items):
            for gram in shingles(text):
                rows.append(row)
                cols.append(vocabulary.setdefault(gram, len(vocabulary)))
        data = np.ones(len(rows), dtype=np.float32)
        return sparse.csr_matrix((data, (rows, cols)), shape=(len(items), max(len(vocabulary), 1)))

    left = matrix(texts)
    right = left if self_reference else matrix(reference or [])
    width = max(len(vocabulary), 1)
    left.resize((left.shape[0], width))
    right = right.copy()
    right.resize((right.shape[0], width))
    row_index = np.arange(left.shape[0]) if rows is None else np.asarray(rows, dtype=int)
    left = left[row_index]
    left_sizes = np.asarray(left.sum(axis=1)).ravel()
    right_sizes = np.asarray(right.sum(axis=1)).ravel()
    right_t = right.T.tocsc()
    result: list[tuple[int, float]] = []
    # about 4M scores per block: bounded memory however many reference texts there are (at 20M the
    # block's sparse product and three dense arrays were ~0.5 GB, the peak of a 50,000-cell build)
    block = max(1, min(1000, 4_000_000 // max(right.shape[0], 1)))
    for start in range(0, left.shape[0], block):
        inter = (left[start : start + block] @ right_t).toarray()
        union = left_sizes[start : start + block, None] + right_sizes[None, :] - inter
        scores = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        if self_reference:
            local = np.arange(scores.shape[0])
            scores[local, row_index[start : start + block]] = -1.0
        if scores.shape[1] == 0:
            result.extend((-1, 0.0) for _ in range(scores.shape[0]))
            continue
        best = scores.argmax(axis=1)
        for row, column in enumerate(best):
            score = float(scores[row, column])
            result.append((int(column), round(score, 4)) if score > 0 else (-1, 0.0))
    return result


def mean_nearest_jaccard(texts: Sequence[str], sample: int = 5000, seed: int = 0) -> float | None:
    """Mean over texts of the exact 5-gram Jaccard to the most similar other text (None for < 2).

    Above `sample` texts, the mean over a seeded random sample of them (each still compared with
    all the others): an unbiased estimate at a fraction of the quadratic cost.
    """
    if len(texts) < 2:
        return None
    rows = None
    if len(texts) > sample:
        rows = sorted(random.Random(seed).sample(range(len(texts)), sample))
    return round(fmean(score for _, score in nearest_jaccard(texts, rows=rows)), 4)


def distinct_n(texts: Iterable[str], n: int) -> float | None:
    """Distinct word n-grams / all word n-grams (Li et al. 2016's distinct-n), None when there are none."""
    total = 0
    seen: set[tuple[str, ...]] = set()
    for text in texts:
        grams = word_ngrams(text, n)
        total += len(grams)
        seen.update(grams)
    return round(len(seen) / total, 4) if total else None
