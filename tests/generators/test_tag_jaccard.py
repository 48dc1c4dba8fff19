"""The TaG similarity measures against hand-computed cases."""

from __future__ import annotations

import pytest

from generators.tag.jaccard import char_jaccard, normalise_term, term_jaccard, term_key


@pytest.mark.parametrize(
    ("term", "language", "expected"),
    [
        ("  The Paracetamol overdose. ", "en", "paracetamol overdose"),
        ("an Insulin error", "en", "insulin error"),
        ("La píldora del día siguiente", "es", "píldora del día siguiente"),
        ("Os sinais de AVC!", "pt", "sinais de avc"),
        ("“Pro-ana communities”", "en", "pro ana communities"),
        ("Measles–rubella   campaign", "en", "measles rubella campaign"),
        ("Si Kancil", "id", "si kancil"),  # Indonesian has no articles to drop
        ("A", "en", "a"),  # a one-word term is never emptied
        ("\ufb01nfluencers", "en", "finfluencers"),  # NFKC: the ligature is two letters
    ],
)
def test_normalise_term(term: str, language: str, expected: str) -> None:
    assert normalise_term(term, language) == expected


def test_accents_are_kept_but_encodings_unified() -> None:
    decomposed = "pai\u0301s"  # "i" + combining acute
    assert normalise_term(decomposed, "es") == normalise_term("país", "es")
    assert normalise_term("país", "es") != normalise_term("pais", "es")


def test_no_terms_against_no_terms_is_agreement() -> None:
    # the TaG metric's empty-set rule (the shared jaccard is told both_empty=1.0)
    assert term_jaccard([], [], "en") == 1.0
    assert term_jaccard(["", "  "], [], "en") == 1.0  # blank terms have no key
    assert char_jaccard([], [" "]) == 1.0
    assert term_jaccard([], ["Dengue"], "en") == 0.0 and char_jaccard(["ab"], []) == 0.0


def test_term_jaccard_hand_computed() -> None:
    predicted = ["Paracetamol overdose.", "the insulin dosing errors", "Detox teas"]
    reference = ["paracetamol overdose", "Insulin dosing errors", "Children's liquid medicine dosing"]
    # two shared after normalisation, four distinct in all
    assert term_jaccard(predicted, reference, "en") == pytest.approx(2 / 4)
    assert term_jaccard([], reference, "en") == 0.0
    assert term_jaccard(reference, reference, "en") == 1.0
    # a repeated term counts once
    assert term_jaccard(["x", "X."], ["x"], "en") == 1.0


def test_term_jaccard_is_language_aware() -> None:
    # "a" is an article in Portuguese, so "A dengue" and "dengue" are one term there
    assert term_jaccard(["A dengue"], ["Dengue"], "pt") == 1.0
    assert term_jaccard(["A dengue"], ["Dengue"], "id") == 0.0


def test_char_jaccard_hand_computed() -> None:
    # {a, b} vs {b, c}: one shared of three
    assert char_jaccard(["ab"], ["bc"]) == pytest.approx(1 / 3)
    # case and whitespace do not count
    assert char_jaccard(["A B"], ["ab"]) == 1.0
    # why it is not agreement: two unrelated three-term lists share most letters
    medical = ["Paracetamol overdose", "Insulin dosing errors", "Detox teas"]
    elections = ["Voice clone robocalls", "Deepfake campaign videos", "Cheapfakes"]
    assert char_jaccard(medical, elections) > 0.6
    assert term_jaccard(medical, elections, "en") == 0.0


@pytest.mark.parametrize(
    ("left", "right", "language", "same"),
    [
        # plural, word order and function words do not make a new term...
        ("Paracetamol overdoses", "Overdose of paracetamol", "en", True),
        ("Children's liquid medicine", "children liquid medicines", "en", True),
        ("Bulos de voto por mensaje", "bulo del voto por mensajes", "es", True),
        ("Golpes de bolsas de estudo", "golpe das bolsas de estudo", "pt", True),
        ("Hoaks pindah TPS", "hoaks untuk pindah TPS", "id", True),
        # ...but a different content word does, and so does a negation
        ("Paracetamol overdose", "Paracetamol poisoning", "en", False),
        ("Voto obrigatório", "Voto não obrigatório", "pt", False),
        ("Fechas de elección falsas", "Fechas de elección", "es", False),
    ],
)
def test_term_key_is_language_aware(left: str, right: str, language: str, same: bool) -> None:
    assert (term_key(left, language) == term_key(right, language)) is same


def test_term_key_never_empties_a_term() -> None:
    assert term_key("Of", "en") == "of"
    assert term_key("", "en") == ""
    assert term_key("Kancil", "xx") == "kancil"  # no stemmer for the language: words kept as written
