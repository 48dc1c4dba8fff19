"""Quality gates on generated queries: near-duplicates, wrong language, and how diverse the rest are.

Synthetic sets flatter models when they repeat themselves, so the build drops queries plainly
written in another language than their cell asked for (py3langid, which ships its model in the
wheel), near-copies of an earlier kept query (MinHash LSH over character 5-grams, confirmed by
the exact Jaccard index), and, when benchmarks are given, near-copies of a known benchmark
prompt. Every drop becomes a reject with its reason. The kept queries are summarised by
distinct-n and their nearest-neighbour similarity, written to the manifest and the dataset card.

The measures themselves (shingles, Jaccard, the LSH index, nearest match, distinct-n) live in
`generators/similarity.py`, shared with the novelty check and the TaG metric.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from statistics import fmean
from typing import TYPE_CHECKING, Any

import regex

from .evidence.corpus import CorpusError
from .evidence.retrieval import load_encoder
from .records import QualityReport, QueryRecord, Reject
from .similarity import SimilarityIndex, distinct_n, mean_nearest_jaccard, nearest_jaccard
from .spec import QualitySpec
from .textsets import TextSet
from .voice_topic import GATED_LANGUAGES, assistant_voice, off_topic, topic_similarities

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier

_WORD = regex.compile(r"[\w\p{M}]+")  # words with their combining marks, for the language gate's minimum

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


def language_verdicts(queries: Iterable[QueryRecord], spec: QualitySpec) -> dict[str, str | None]:
    """Each query's wrong-language reason (or None), by id: independent of every other query, so a
    build computes them as the queries arrive, while it waits for the provider."""
    if not spec.check_language:
        return {}
    return {query.id: wrong_language(query.input, query.language, spec.language_min_words) for query in queries}


def warm_language_identifier() -> None:
    """Load the identifier's model now (about a second), e.g. in a thread while calls are in flight."""
    _identifier()


@cache
def _encoder() -> Any:
    return load_encoder()


def _topic_similarities(queries: Sequence[QueryRecord], threshold: float | None) -> dict[str, float] | None:
    """Each judged query's MiniLM cosine to its taxonomy path; None when the gate is off or MiniLM is absent."""
    judged = [query for query in queries if query.language in GATED_LANGUAGES]
    if threshold is None or not judged:
        return None if threshold is None else {}
    try:
        encoder = _encoder()
    except CorpusError:  # the embeddings extra is not installed: the gate cannot run (the report says so)
        return None
    values = topic_similarities(encoder, [query.input for query in judged], [query.taxonomy_path for query in judged])
    return {query.id: value for query, value in zip(judged, values, strict=True)}


def apply_quality_gates(
    queries: Sequence[QueryRecord],
    spec: QualitySpec,
    benchmarks: Sequence[TextSet] = (),
    verdicts: Mapping[str, str | None] | None = None,
) -> tuple[list[QueryRecord], list[Reject], QualityReport]:
    """Keep queries in order, dropping queries in the wrong language, near-copies of a kept one,
    and near-copies of a prompt in a known benchmark (`benchmarks`, read by `textsets.read_texts`).

    `verdicts` are `language_verdicts` computed earlier (a query missing from them is checked here)."""
    index = SimilarityIndex(spec.near_duplicate_jaccard) if spec.near_duplicate_jaccard else None
    kept: list[QueryRecord] = []
    rejects: list[Reject] = []
    duplicates = languages = voiced = drifted = 0
    topicality = _topic_similarities(queries, spec.off_topic_similarity)
    for query in queries:
        context = {"query_id": query.id, "l1": query.l1, "l2": query.l2, "l3": query.l3, "language": query.language}
        if spec.check_voice and (voice := assistant_voice(query.input)):
            voiced += 1
            rejects.append(Reject(stage="quality", reason=voice[0], context=context, raw_output=query.input))
            continue
        if topicality is not None and spec.off_topic_similarity is not None:
            drift = off_topic(topicality.get(query.id, math.nan), spec.off_topic_similarity, language=query.language)
            if drift is not None:
                drifted += 1
                rejects.append(Reject(stage="quality", reason=drift, context=context, raw_output=query.input))
                continue
        if spec.check_language:
            if verdicts is not None and query.id in verdicts:
                reason = verdicts[query.id]
            else:
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
        assistant_voiced=voiced,
        off_topic=drifted,
        off_topic_similarity=spec.off_topic_similarity if topicality is not None else None,
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
    for query, (score, where, prompt) in zip(queries, best, strict=True):
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
