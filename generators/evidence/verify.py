"""Verification: an extracted item is kept only if its quote is in the source and says what the item says.

Two checks, both required:

1. **The quote is in its source.** rapidfuzz `partial_ratio` of the quote against the text of the
   passage the model named must reach `min_quote_score` (default 90 of 100: it forgives a changed
   quotation mark or a dropped comma, not a changed word in a short quote). A quote found in a
   different passage than the one named is *misattributed*; one found nowhere is *not in the
   source* (a hallucination). The verified quote stored is the source's own text, not the model's.
2. **The quote supports the item.** Every content word of the item (singular, Snowball-stemmed)
   appears in the quote, or for a country one of its names or codes does. When an LLM check is
   configured, an item the word check misses is put to the checker model as a yes/no question.

Items that fail go to rejects with the reason; nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from rapidfuzz import fuzz

from .corpus import Passage
from .extract import ExtractedItem, passage_label
from .normalise import content_words, country_names, is_empty_phrase, normalise_country
from .untrusted import looks_like_instruction

DEFAULT_MIN_QUOTE_SCORE = 90.0
MIN_QUOTE_WORDS = 2

# Reasons, as constants so the manifest's failure counts group cleanly.
EMPTY = "empty phrase"
UNKNOWN_SOURCE = "unknown source"
SHORT_QUOTE = "quote too short to verify"
INJECTION = "quote reads as an instruction to a model"
NOT_IN_SOURCE = "quote not in the source"
MISATTRIBUTED = "misattributed quote"
NOT_A_COUNTRY = "not a country"
UNSUPPORTED = "quote does not support the item"
NOT_PEOPLE = "does not name people"

LlmCheck = Callable[[ExtractedItem, str], Awaitable[bool]]


@dataclass
class Verdict:
    """The outcome for one item: kept (with the verified quote and its source) or the reason it failed."""

    item: ExtractedItem
    passage: Passage | None = None
    quote: str | None = None  # the source's own text that matched
    score: float = 0.0
    reason: str | None = None
    detail: str = ""
    by_llm: bool = False

    @property
    def kept(self) -> bool:
        return self.reason is None


def canonical_text(text: str) -> str:
    """Case-folded, with typographic quotes and dashes made plain and whitespace collapsed."""
    table = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})
    return " ".join(text.translate(table).split()).casefold()


def locate(quote: str, text: str) -> tuple[float, str]:
    """How well `quote` matches somewhere in `text` (0-100), and the matching span of `text`."""
    needle, haystack = canonical_text(quote), canonical_text(text)
    if not needle or not haystack:
        return 0.0, ""
    if needle in haystack:
        start = haystack.index(needle)
        return 100.0, _span(text, haystack, start, start + len(needle))
    alignment = fuzz.partial_ratio_alignment(needle, haystack)
    if alignment is None:
        return 0.0, ""
    return float(alignment.score), _span(text, haystack, alignment.dest_start, alignment.dest_end)


def _span(original: str, canonical: str, start: int, end: int) -> str:
    """The original text behind a span of its canonical form, widened to whole words."""
    # canonical_text collapses whitespace and maps characters 1:1, so walk the original to find the
    # same positions (counting collapsed whitespace as one character). Case-folding that changes a
    # length ("ß" -> "ss") can shift the span by a character or two; widening to whole words
    # below absorbs most of that, and the score was computed on the canonical text anyway.
    mapping: list[int] = []
    previous_space = True
    for index, char in enumerate(original):
        if char.isspace() or char == "\u00a0":
            if previous_space:
                continue
            previous_space = True
        else:
            previous_space = False
        mapping.append(index)
    if not mapping:
        return ""
    start_i = mapping[min(start, len(mapping) - 1)]
    end_i = mapping[min(max(end - 1, start), len(mapping) - 1)] + 1
    while start_i > 0 and original[start_i - 1].isalnum():
        start_i -= 1
    while end_i < len(original) and original[end_i].isalnum():
        end_i += 1
    return " ".join(original[start_i:end_i].split())


@cache
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


@cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def words_supported(item: str, quote: str) -> bool:
    """True if every content word of the item (singular or stemmed) appears in the quote."""
    wanted = content_words(item)
    if not wanted:
        return False
    present = content_words(quote)
    present_stems = {_stem(word) for word in present}
    return all(word in present or _stem(word) in present_stems for word in wanted)


def _padded_words(text: str) -> str:
    """' word word ': so a name matches whole words only ('oman' is not in 'woman')."""
    return " " + " ".join(re.findall(r"[\w']+", text)) + " "


# Codes people write in capitals for a country besides its ISO ones.
EXTRA_CODES = {"GB": {"UK"}, "US": {"USA"}}


def country_supported(alpha_2: str, quote: str) -> bool:
    """True if the quote names the country: one of its names, or its code in capitals ('UK', 'U.K.', 'IND')."""
    undotted = re.sub(r"(?<=\b\w)\.", "", quote)  # U.K. -> UK, U.S.A. -> USA
    words = _padded_words(canonical_text(undotted))
    if any(_padded_words(name) in words for name in country_names(alpha_2)):
        return True
    country = normalise_country(alpha_2)
    codes = {alpha_2, country.alpha_3 if country else alpha_2, *EXTRA_CODES.get(alpha_2, set())}
    return any(re.search(rf"(?<!\w){code}(?!\w)", undotted) for code in codes)


async def verify_item(
    item: ExtractedItem,
    passages: dict[str, Passage],
    *,
    min_quote_score: float = DEFAULT_MIN_QUOTE_SCORE,
    llm_check: LlmCheck | None = None,
    people_check: bool = False,
) -> Verdict:
    """Check one item against the passages the extractor was shown (labelled P1..Pn).

    With `people_check` (the full prompt profile) every occupation or demographic that passes
    the word check is still put to `llm_check`, whose question then asks whether the item names
    a group of people: "community-based mental health care" is in its quote but is no one.
    """
    verdict = Verdict(item=item)
    if is_empty_phrase(item.item):
        verdict.reason = EMPTY
        return verdict
    if len(item.quote.split()) < MIN_QUOTE_WORDS:
        verdict.reason, verdict.detail = SHORT_QUOTE, f"fewer than {MIN_QUOTE_WORDS} words"
        return verdict
    if looks_like_instruction(item.quote):
        verdict.reason = INJECTION
        return verdict

    scores = {label: locate(item.quote, passage.text) for label, passage in passages.items()}
    label = passage_label(item.source, list(passages))
    if item.source and label is None:
        verdict.reason, verdict.detail = UNKNOWN_SOURCE, f"{item.source!r} is not one of {', '.join(passages)}"
        return verdict
    best = max(scores, key=lambda name: scores[name][0]) if scores else None
    if label is None:  # the model named no source: the passage the quote is in is its source
        label = best
    if label is None:
        verdict.reason = NOT_IN_SOURCE
        return verdict
    score, span = scores[label]
    verdict.score = round(score, 1)
    if score < min_quote_score:
        if best is not None and best != label and scores[best][0] >= min_quote_score:
            verdict.reason = MISATTRIBUTED
            verdict.detail = f"attributed to {label} ({passages[label].source.title}) but found in {best} ({passages[best].source.title})"
        else:
            verdict.reason = NOT_IN_SOURCE
            verdict.detail = f"best match {score:.0f} < {min_quote_score:.0f} in {label} ({passages[label].source.title})"
        return verdict
    verdict.passage, verdict.quote = passages[label], span

    if item.kind == "country":
        country = normalise_country(item.item)
        if country is None:
            verdict.reason, verdict.detail = NOT_A_COUNTRY, repr(item.item)
            return verdict
        supported = country_supported(country.alpha_2, span) or country_supported(country.alpha_2, item.quote)
    else:
        supported = words_supported(item.item, span)
    if supported and people_check and llm_check is not None and item.kind != "country":
        if not await llm_check(item, span):
            verdict.reason, verdict.detail = NOT_PEOPLE, f"{item.item!r} is not a group of people (the LLM check said no)"
        return verdict
    if not supported and llm_check is not None:
        supported = verdict.by_llm = await llm_check(item, span)
    if not supported:
        verdict.reason = UNSUPPORTED
        verdict.detail = f"{item.item!r} is not in {span!r}" + (" (and the LLM check said no)" if llm_check else "")
    return verdict
