"""The shared similarity measures: shingles, Jaccard and its empty-set rule, the LSH index, nearest match, distinct-n."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from generators.similarity import (
    SimilarityIndex,
    distinct_n,
    jaccard,
    mean_nearest_jaccard,
    nearest_jaccard,
    normalise_text,
    shingles,
    word_ngrams,
)

GENERATORS = Path(__file__).resolve().parents[2] / "generators"


def test_jaccard_hand_computed() -> None:
    assert jaccard({"a", "b", "c"}, {"b", "c", "d"}, both_empty=0.0) == pytest.approx(2 / 4)
    assert jaccard({"a"}, {"a"}, both_empty=0.0) == 1.0
    assert jaccard({"a"}, {"b"}, both_empty=1.0) == 0.0
    assert jaccard(set(), {"a"}, both_empty=1.0) == 0.0  # the rule is for two empty sets only
    assert jaccard({1, 2}, {2}, both_empty=0.0) == pytest.approx(1 / 2)  # any hashable items


def test_jaccard_empty_set_rule_is_stated_by_the_caller() -> None:
    assert jaccard(set(), set(), both_empty=1.0) == 1.0  # TaG: no terms against no terms agree
    assert jaccard(set(), set(), both_empty=0.0) == 0.0  # gates: two texts without shingles share nothing
    with pytest.raises(TypeError):
        jaccard(set(), set())  # type: ignore[call-arg]  # no silent default
    with pytest.raises(TypeError):
        jaccard(set(), set(), 1.0)  # type: ignore[misc]  # keyword only: the rule is named at the call
    with pytest.raises(ValueError, match="both_empty"):
        jaccard(set(), set(), both_empty=2.0)


def test_word_ngrams_hand_computed() -> None:
    assert word_ngrams("The dose, the DOSE!", 1) == [("the",), ("dose",), ("the",), ("dose",)]
    assert word_ngrams("a b c", 2) == [("a", "b"), ("b", "c")]
    assert word_ngrams("a b", 3) == []
    assert shingles("abcdef", 3) == {"abc", "bcd", "cde", "def"}


def test_texts_without_shingles_share_nothing_in_nearest_jaccard() -> None:
    assert shingles("?!") == set()
    assert nearest_jaccard(["?!", "how do I treat a fever"], ["...", "how do I treat a fever at home"])[0] == (-1, 0.0)
    assert nearest_jaccard(["?!", "..."]) == [(-1, 0.0), (-1, 0.0)]
    index = SimilarityIndex(0.5)
    index.add("empty", "?!")
    assert len(index) == 0 and index.nearest("...") is None


def test_index_finds_the_source_of_small_edits_among_many() -> None:
    """Recall on small edited pairs: each lightly edited query is matched to the query it came from."""
    rng = random.Random(7)
    originals = {
        f"q{i}": f"What is the safe {dose} of {drug} for a {who} who also takes {other} every day?"
        for i, (dose, drug, who, other) in enumerate(
            (d, g, w, o)
            for d in ("dose", "amount")
            for g in ("paracetamol", "ibuprofen", "aspirin")
            for w in ("child", "pregnant woman", "pensioner")
            for o in ("warfarin", "insulin")
        )
    }
    index = SimilarityIndex(0.7)
    for key, text in originals.items():
        index.add(key, text)
    checked = 0
    for key, text in originals.items():
        for _ in range(5):
            chars = list(text)
            for _ in range(rng.randint(1, 3)):  # typos: a character dropped or doubled
                at = rng.randrange(len(chars))
                chars[at : at + 1] = [] if rng.random() < 0.5 else [chars[at], chars[at]]
            edited = "".join(chars)
            best = max(originals, key=lambda k: jaccard(shingles(edited), shingles(originals[k]), both_empty=0.0))
            exact = jaccard(shingles(edited), shingles(originals[best]), both_empty=0.0)
            if exact < 0.7:
                continue
            checked += 1
            match = index.nearest(edited)
            # exact and the best: the LSH missed no candidate that would have scored higher
            assert match is not None and match[1] == pytest.approx(exact), (key, edited)
    assert checked >= 100


def imported_modules(path: Path) -> set[str]:
    """Every module a file in `generators/` imports, at run time or for type checking, as absolute dotted names."""
    package = ["generators", *path.parent.relative_to(GENERATORS).parts]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_quality_and_novelty_do_not_import_each_other() -> None:
    quality = imported_modules(GENERATORS / "quality.py")
    novelty = imported_modules(GENERATORS / "novelty.py")
    assert "generators.novelty" not in quality and "generators.quality" not in novelty
    assert "generators.similarity" in quality and "generators.similarity" in novelty
    assert "generators.similarity.jaccard" in imported_modules(GENERATORS / "tag" / "jaccard.py")


def test_shingles_and_normalisation() -> None:
    assert normalise_text("  What's the DOSE?!\n") == "what s the dose"
    assert shingles("Dose!") == {"dose"}  # shorter than a shingle: the whole text
    assert shingles("abcdef") == {"abcde", "bcdef"}
    assert shingles("") == set()
    assert jaccard({"a", "b"}, {"b", "c"}, both_empty=0.0) == pytest.approx(1 / 3)


def test_similarity_index_reports_exact_jaccard_above_its_threshold() -> None:
    index = SimilarityIndex(0.7)
    index.add("a", "How much paracetamol can a child of six take in one day?")
    index.add("b", "Which herbal teas lower blood pressure without any medicine?")
    near = "How much paracetamol can a child of six take in one day??"
    match = index.nearest(near)
    assert match is not None and match[0] == "a"
    exact = jaccard(shingles(near), shingles("How much paracetamol can a child of six take in one day?"), both_empty=0.0)
    assert match[1] == pytest.approx(exact)
    assert index.nearest("How much ibuprofen can an adult take before surgery next week?") is None
    assert len(index) == 2


def test_nearest_jaccard_matches_brute_force() -> None:
    texts = [
        "how do I treat a fever at home", "How do I treat a fever at home?", "treat a high fever at home fast",
        "what is the capital of France", "capital city of france", "zzzz",
    ]
    nearest = nearest_jaccard(texts)
    for i, text in enumerate(texts):
        scores = [(jaccard(shingles(text), shingles(other), both_empty=0.0), j) for j, other in enumerate(texts) if j != i]
        best = max(scores)
        assert nearest[i][1] == pytest.approx(best[0], abs=1e-4)
        if best[0] == 0:
            assert nearest[i] == (-1, 0.0)
    against = nearest_jaccard(["a fever at home"], texts)
    assert against[0][0] in (0, 1, 2) and against[0][1] > 0
    assert mean_nearest_jaccard(["only one"]) is None


def test_distinct_n_hand_computed() -> None:
    # words: a b a c -> 3 distinct of 4; pairs: ab ba ac -> 3 of 3
    assert distinct_n(["a b", "a c"], 1) == pytest.approx(3 / 4)
    assert distinct_n(["a b a c"], 2) == 1.0
    assert distinct_n(["a b", "a b"], 2) == 0.5
    assert distinct_n(["one"], 2) is None


def test_nearest_jaccard_for_chosen_rows_and_a_sampled_mean() -> None:
    texts = [f"how much {word} can a child take at night" for word in ("paracetamol", "ibuprofen", "aspirin", "syrup")]
    texts += ["something unrelated entirely", "a different question about sleep"]
    full = nearest_jaccard(texts)
    assert nearest_jaccard(texts, rows=[1, 4]) == [full[1], full[4]]  # still compared with all the others
    exact = mean_nearest_jaccard(texts)
    assert exact == pytest.approx(sum(score for _, score in full) / len(full), abs=1e-4)
    sampled = mean_nearest_jaccard(texts, sample=3, seed=1)
    assert sampled is not None and sampled != exact and 0 < sampled < 1


def test_near_duplicate_index_finds_every_pair_above_its_threshold() -> None:
    """Recall: one- to four-word edits of a query, at or above the gate's threshold, are all found."""
    import random

    rng = random.Random(1)
    base = "How many tablets of paracetamol can I safely take each day if I also drink alcohol regularly at weekends"
    for threshold in (0.5, 0.7, 0.9, 1.0):  # 1.0 used to crash datasketch (too few bands)
        index = SimilarityIndex(threshold)
        index.add("a", base)
        checked = 0
        for _ in range(400):
            words = base.split()
            for _ in range(rng.randint(0, 4)):
                words[rng.randrange(len(words))] = rng.choice(["many", "dose", "pills", "often", "beer", "week"])
            text = " ".join(words)
            if jaccard(shingles(base), shingles(text), both_empty=0.0) >= threshold:
                checked += 1
                assert index.nearest(text) is not None, (threshold, text)
        assert checked > 20


def test_combining_marks_stay_inside_their_words() -> None:
    # Devanagari vowel signs are combining marks: "blood pressure" must stay two words
    assert normalise_text("ब्लड प्रेशर!") == "ब्लड प्रेशर"
    assert distinct_n(["ब्लड प्रेशर"], 1) == 1.0 and len(normalise_text("ब्लड प्रेशर").split()) == 2
