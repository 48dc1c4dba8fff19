"""How close generated L3 terms are to reviewed ones: term-level and character-set Jaccard.

`term_jaccard` is the measure this project reports: the Jaccard index of the two sets of terms,
each term reduced to a language-aware key (`term_key`): case-folded, punctuation trimmed, function
words (articles, prepositions, conjunctions) dropped, the rest stemmed with the language's
Snowball stemmer and taken as a set. So "Paracetamol overdoses", "the paracetamol overdose." and
"Overdose of paracetamol" are one term; "Paracetamol overdose" and "Paracetamol poisoning" are two.

`char_jaccard` is kept only for comparability with the NodeSynth paper, which computed its
similarity over sets of characters: any two lists of words in the same alphabet share most of
their letters, so it is high even for unrelated terms (two random English term lists typically
score above 0.5). Do not read it as agreement.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from functools import cache

import regex
import Stemmer

from ..similarity import jaccard

# Leading articles dropped per language by `normalise_term`: "the paracetamol overdose" names the
# same term as "paracetamol overdose". Indonesian has no articles.
ARTICLES: dict[str, frozenset[str]] = {
    "en": frozenset({"the", "a", "an"}),
    "es": frozenset({"el", "la", "los", "las", "un", "una", "unos", "unas"}),
    "pt": frozenset({"o", "a", "os", "as", "um", "uma", "uns", "umas"}),
    "fr": frozenset({"le", "la", "les", "un", "une", "des"}),
}

# Dashes and slashes join words inconsistently ("pro-ana", "pro ana"), so they count as spaces.
_JOINERS = re.compile(r"[\-\u2010-\u2015/_]+")
_SPACES = re.compile(r"\s+")
# Punctuation trimmed at the ends of a term: ASCII, typographic quotes, and the like.
_EDGE = string.punctuation + "\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026\u00bf\u00a1\u3001\u3002 \t\n"


def normalise_term(term: str, language: str = "en") -> str:
    """A term's comparable form: NFKC, case-folded, dashes as spaces, edges trimmed, no leading article.

    Accents are kept: in Spanish and Portuguese they distinguish words ("pais" / "país"), and
    NFKC only unifies how they are encoded (a precomposed "é" and "e" + combining accent).
    """
    text = unicodedata.normalize("NFKC", term).casefold()
    text = _JOINERS.sub(" ", text)
    text = _SPACES.sub(" ", text).strip(_EDGE)
    words = text.split(" ")
    articles = ARTICLES.get(language, frozenset())
    if len(words) > 1 and words[0] in articles:
        words = words[1:]
    return " ".join(words).strip(_EDGE)


# Function words that never tell two terms apart: articles, prepositions, conjunctions (closed
# classes only, written out so a reviewer can see them; negations are kept: "no" changes a term).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": ARTICLES["en"] | {"of", "for", "to", "in", "on", "at", "by", "with", "from", "about", "into", "as", "and", "or"},
    "es": ARTICLES["es"]
    | {"de", "del", "al", "a", "en", "por", "para", "con", "sobre", "entre", "hacia", "y", "e", "o", "u"},
    "pt": ARTICLES["pt"]
    | {"de", "do", "da", "dos", "das", "em", "no", "na", "nos", "nas", "por", "pelo", "pela", "pelos", "pelas",
       "para", "com", "sobre", "entre", "ao", "aos", "à", "às", "e", "ou"},
    "id": frozenset({"di", "ke", "dari", "dan", "atau", "yang", "untuk", "dengan", "pada", "dalam", "oleh", "bagi",
                     "tentang", "terhadap"}),
    "fr": ARTICLES["fr"] | {"de", "du", "d", "l", "au", "aux", "à", "en", "par", "pour", "sur", "avec", "et", "ou"},
}
# Snowball stemmers (PyStemmer) for the languages the curated data and specs use.
STEMMERS = {"en": "english", "es": "spanish", "pt": "portuguese", "id": "indonesian", "fr": "french"}
_WORD = regex.compile(r"[\w\p{M}]+")  # with combining marks (Devanagari vowel signs)
_POSSESSIVE = re.compile(r"['\u2019]s\b")


@cache
def _stemmer(language: str) -> Stemmer.Stemmer | None:
    algorithm = STEMMERS.get(language)
    return Stemmer.Stemmer(algorithm) if algorithm else None


def term_key(term: str, language: str = "en") -> str:
    """A term's language-aware key: its content words, stemmed, as a sorted set.

    A term made only of function words keeps them (it is never emptied); a language without a
    stemmer keeps its words unstemmed.
    """
    text = normalise_term(term, language)
    if language == "en":
        text = _POSSESSIVE.sub("", text)
    words = _WORD.findall(text)
    function_words = FUNCTION_WORDS.get(language, frozenset())
    words = [word for word in words if word not in function_words] or words
    stemmer = _stemmer(language)
    if stemmer is not None:
        words = stemmer.stemWords(words)
    return " ".join(sorted(set(words)))


def term_set(terms: Iterable[str], language: str = "en") -> set[str]:
    return {key for key in (term_key(term, language) for term in terms) if key}


# A row with no reviewed terms answered with no terms is agreement, not a miss.
BOTH_EMPTY = 1.0


def term_jaccard(predicted: Iterable[str], reference: Iterable[str], language: str = "en") -> float:
    """Jaccard index of the sets of term keys (see `term_key`)."""
    return jaccard(term_set(predicted, language), term_set(reference, language), both_empty=BOTH_EMPTY)


def char_set(terms: Iterable[str]) -> set[str]:
    """The characters of the terms, NFKC and case-folded, without whitespace."""
    text = unicodedata.normalize("NFKC", " ".join(terms)).casefold()
    return {char for char in text if not char.isspace()}


def char_jaccard(predicted: Iterable[str], reference: Iterable[str]) -> float:
    """NodeSynth's measure, for comparability: Jaccard of the sets of characters of the terms."""
    return jaccard(char_set(predicted), char_set(reference), both_empty=BOTH_EMPTY)
