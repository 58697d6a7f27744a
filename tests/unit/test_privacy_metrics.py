"""Copy rate and normalised edit distance on cases with known answers."""

from __future__ import annotations

import random

import pytest
from rapidfuzz.distance import Levenshtein

from sociallearn.privacy.metrics import (
    contains_copy,
    normalised_distance,
    substring_distance,
    summarise_leakage,
)


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ("abc", "xxabcxx", 0),
        ("abd", "xabcx", 1),
        ("abc", "", 3),
        ("", "abc", 0),
        ("kitten", "sitting", 2),  # 'kitten' → 'sittin' (a substring) in two substitutions
    ],
)
def test_substring_distance_known_answers(text: str, source: str, expected: int):
    assert substring_distance(text, source) == expected


def test_substring_distance_matches_brute_force_over_rapidfuzz():
    rng = random.Random(7)
    for _ in range(200):
        text = "".join(rng.choice("ab c") for _ in range(rng.randint(1, 7)))
        source = "".join(rng.choice("ab c") for _ in range(rng.randint(0, 9)))
        brute = min(
            Levenshtein.distance(text, source[i:j])
            for i in range(len(source) + 1)
            for j in range(i, len(source) + 1)
        )
        assert substring_distance(text, source) == brute


def test_normalised_distance_is_over_the_lesson_length():
    private = ["Are we still meeting for coffee at the station"]
    assert normalised_distance("meeting for coffee", private) == 0.0
    assert normalised_distance("MEETING  for Coffee", private) == 0.0  # case and spaces ignored
    assert normalised_distance("meeting for toffee", private) == pytest.approx(1 / 18)
    assert normalised_distance("zzzz", []) == 1.0
    with pytest.raises(ValueError, match="empty"):
        normalised_distance("  ", private)


def test_copy_rate_counts_lessons_containing_a_private_example():
    private = ["Are we still meeting for coffee at the station", "ok"]
    assert contains_copy(
        "Message: are we still meeting for coffee at the station\nLabel: ham", private
    )
    assert not contains_copy("ok then", private)  # too short to count as a copy
    summary = summarise_leakage(
        [
            ("Message: Are we still meeting for coffee at the station", private),
            ("Something else entirely", private),
            ("", private),  # empty lessons are not measured
        ]
    )
    assert summary.lessons == 2 and summary.copies == 1 and summary.copy_rate == 0.5
    assert summary.distances[0] == pytest.approx(len("Message: ") / 55, abs=1e-4)  # the prefix
    assert summary.distances[1] > 0.5
