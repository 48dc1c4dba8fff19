"""Quality gates on generated queries: near-duplicates, wrong language, and how diverse the rest are.

Synthetic sets flatter models when they repeat themselves, so the build drops queries plainly
written in another language than their cell asked for (py3langid, which ships its model in the
wheel), near-copies of an earlier kept query (MinHash LSH over character 5-grams, confirmed by
the exact Jaccard index), and, when benchmarks are given, near-copies of a known benchmark
prompt. Every drop becomes a reject with its reason. The kept queries are summarised by
distinct-n and their nearest-neighbour similarity, written to the manifest and the dataset card.

`nearest_jaccard` (exact, sparse) also answers "how novel is this set against a human-written
benchmark?" for `generators/novelty.py` and `nodesynth novelty`.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from statistics import fmean
from typing import TYPE_CHECKING

import numpy as np
import regex
from datasketch import MinHash, MinHashLSH

from .records import QualityReport, QueryRecord, Reject
from .spec import QualitySpec

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

    from .novelty import TextSet

SHINGLE = 5
"""Characters per shingle: long enough that unrelated texts share few, short enough for small edits."""
NUM_PERM = 128
_SPACES = re.compile(r"\s+")
_NOT_WORD = regex.compile(r"[\p{P}\p{S}]")
_WORD = regex.compile(r"[\w\p{M}]+")


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


def jaccard(left: set[str], right: set[str]) -> float:
    union = left | right
    return len(left & right) / len(union) if union else 0.0


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

    def __len__(self) -> int:
        return len(self._shingles)

    @staticmethod
    def _minhash(grams: set[str]) -> MinHash:
        minhash = MinHash(num_perm=NUM_PERM)
        minhash.update_batch([gram.encode("utf-8") for gram in grams])
        return minhash

    def add(self, key: str, text: str) -> None:
        grams = shingles(text)
        if not grams or key in self._shingles:
            return
        self._shingles[key] = grams
        self._lsh.insert(key, self._minhash(grams))

    def nearest(self, text: str) -> tuple[str, float] | None:
        """The most similar indexed text at or above the threshold, as (key, exact Jaccard)."""
        grams = shingles(text)
        if not grams or not self._shingles:
            return None
        best: tuple[str, float] | None = None
        for key in self._lsh.query(self._minhash(grams)):
            score = jaccard(grams, self._shingles[key])
            if score >= self.threshold and (best is None or score > best[1] or (score == best[1] and key < best[0])):
                best = (key, score)
        return best


# ISO 639-1 codes py3langid knows under another code (Norwegian Bokmål is its "no").
IDENTIFIER_ALIASES = {"nb": "no", "nn": "no"}


@cache
def _identifier() -> LanguageIdentifier:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def wrong_language(text: str, language: str, min_words: int = 4) -> str | None:
    """Why `text` is plainly not in `language` (ISO 639-1), or None when it may well be.

    Plainly: the identifier's top language is confident (p >= 0.5) and `language` is not among
    its three best guesses. Related languages (es/gl, id/ms) and short texts, which identifiers
    confuse, are therefore let through rather than wrongly dropped.
    """
    identifier = _identifier()
    requested, language = language, IDENTIFIER_ALIASES.get(language, language)
    if language not in identifier.nb_classes:
        return None  # a language the identifier cannot name is never judged (it would always lose)
    if len(_WORD.findall(text)) < min_words:
        return None
    ranked = identifier.rank(text)
    top, probability = ranked[0]
    if probability < 0.5 or language in {code for code, _ in ranked[:3]}:
        return None
    return f"written in {top!r} (p={probability:.2f}), not the requested {requested!r}"


def distinct_n(texts: Iterable[str], n: int) -> float | None:
    """Distinct word n-grams / all word n-grams (Li et al. 2016's distinct-n), None when there are none."""
    total = 0
    seen: set[tuple[str, ...]] = set()
    for text in texts:
        words = normalise_text(text).split()
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return round(len(seen) / total, 4) if total else None


def nearest_jaccard(
    texts: Sequence[str], reference: Sequence[str] | None = None, rows: Sequence[int] | None = None
) -> list[tuple[int, float]]:
    """For each text (or each of `rows`, indices into `texts`), (index, exact 5-gram Jaccard) of
    its most similar reference text.

    Without `reference`, the other texts are the reference (a text is never its own nearest).
    Exact, computed as sparse shingle-matrix products in blocks of rows: 10,000 texts against
    10,000 take seconds. (-1, 0.0) when nothing shares a shingle.
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
    # about 20M scores per block: bounded memory however many reference texts there are
    block = max(1, min(1000, 20_000_000 // max(right.shape[0], 1)))
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


def apply_quality_gates(
    queries: Sequence[QueryRecord], spec: QualitySpec, benchmarks: Sequence[TextSet] = ()
) -> tuple[list[QueryRecord], list[Reject], QualityReport]:
    """Keep queries in order, dropping queries in the wrong language, near-copies of a kept one,
    and near-copies of a prompt in a known benchmark (`benchmarks`, read by `novelty.read_texts`)."""
    index = SimilarityIndex(spec.near_duplicate_jaccard) if spec.near_duplicate_jaccard else None
    kept: list[QueryRecord] = []
    rejects: list[Reject] = []
    duplicates = languages = 0
    for query in queries:
        context = {"query_id": query.id, "l1": query.l1, "l2": query.l2, "l3": query.l3, "language": query.language}
        if spec.check_language:
            reason = wrong_language(query.input, query.language, spec.language_min_words)
            if reason is not None:
                languages += 1
                rejects.append(Reject(stage="quality", reason=f"wrong language: {reason}", context=context, raw_output=query.input))
                continue
        if index is not None:
            match = index.nearest(query.input)
            if match is not None:
                duplicates += 1
                rejects.append(
                    Reject(
                        stage="quality",
                        reason=f"near duplicate of {match[0]} (5-gram Jaccard {match[1]:.2f})",
                        context=context,
                        raw_output=query.input,
                    )
                )
                continue
            index.add(query.id, query.input)
        kept.append(query)
    copies, nearest_benchmark = _drop_benchmark_copies(kept, benchmarks, spec.benchmark_jaccard, rejects)
    kept = [query for query in kept if query.id not in copies]
    texts = [query.input for query in kept]
    report = QualityReport(
        checked=len(queries),
        kept=len(kept),
        near_duplicates=duplicates,
        wrong_language=languages,
        benchmark_copies=len(copies),
        benchmark_prompts=sum(len(benchmark.texts) for benchmark in benchmarks),
        benchmark_mean_nearest=nearest_benchmark,
        benchmark_jaccard=spec.benchmark_jaccard if benchmarks else None,
        near_duplicate_jaccard=spec.near_duplicate_jaccard,
        check_language=spec.check_language,
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        mean_nearest_jaccard=mean_nearest_jaccard(texts),
    )
    return kept, rejects, report


def _drop_benchmark_copies(
    queries: Sequence[QueryRecord], benchmarks: Sequence[TextSet], threshold: float, rejects: list[Reject]
) -> tuple[set[str], float | None]:
    """Ids of the queries at or above `threshold` against a benchmark prompt (each rejected with
    the prompt it copies), and the mean nearest-prompt Jaccard over all queries checked."""
    if not benchmarks or not queries:
        return set(), None
    texts = [query.input for query in queries]
    best: list[tuple[float, str, str]] = [(0.0, "", "")] * len(texts)
    for benchmark in benchmarks:
        for row, (index, score) in enumerate(nearest_jaccard(texts, benchmark.texts)):
            if index >= 0 and score > best[row][0]:
                best[row] = (score, f"{benchmark.name}:{benchmark.ids[index]}", benchmark.texts[index])
    copies = set()
    for query, (score, where, prompt) in zip(queries, best):
        if score >= threshold:
            copies.add(query.id)
            rejects.append(
                Reject(
                    stage="quality",
                    reason=f"near copy of benchmark prompt {where} (5-gram Jaccard {score:.2f}): {prompt[:120]}",
                    context={"query_id": query.id, "l1": query.l1, "l2": query.l2, "l3": query.l3, "language": query.language},
                    raw_output=query.input,
                )
            )
    return copies, round(fmean(score for score, _, _ in best), 4)
