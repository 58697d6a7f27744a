"""Leakage of shared lessons: copy rate and normalised edit distance to the private examples.

A lesson is compared, after lower-casing and collapsing whitespace, with the private examples
its teacher read. The normalised distance is the smallest Levenshtein distance from the lesson to
any substring of one of those examples, divided by the lesson's length: 0 is a verbatim copy,
values near 1 share little. RapidFuzz has no substring (semi-global) Levenshtein, so it is
computed here with a vectorised dynamic programme (the tests check it against RapidFuzz).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def substring_distance(text: str, source: str) -> int:
    """Least Levenshtein distance from `text` to any substring of `source` (empty included)."""
    if not text:
        return 0
    if not source:
        return len(text)
    codes = np.frombuffer(source.encode("utf-32-le"), dtype=np.uint32)
    shift = np.arange(len(source) + 1)
    row = np.zeros(len(source) + 1, dtype=np.int64)  # a substring may start anywhere: free start
    for i, char in enumerate(text, start=1):
        match = (codes != ord(char)).astype(np.int64)
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[:-1] + match, row[1:] + 1)
        # insertions along the row: best[j] = min over k <= j of best[k] + (j - k)
        row = np.minimum.accumulate(best - shift) + shift
    return int(row.min())  # a substring may end anywhere: free end


def normalised_distance(lesson: str, private: Sequence[str]) -> float:
    """Least substring edit distance from `lesson` to any private example, over its length."""
    text = _normalise(lesson)
    if not text:
        raise ValueError("cannot measure an empty lesson")
    if not private:
        return 1.0
    return min(substring_distance(text, _normalise(source)) for source in private) / len(text)


def contains_copy(lesson: str, private: Sequence[str], *, min_chars: int = 20) -> bool:
    """Whether `lesson` contains a private example verbatim (examples of `min_chars` or more)."""
    text = _normalise(lesson)
    return any(len(source) >= min_chars and source in text for source in map(_normalise, private))


class LeakageSummary(BaseModel):
    lessons: int
    copies: int
    copy_rate: float
    distance_mean: float | None
    distance_median: float | None
    distance_min: float | None
    distances: list[float]

    @classmethod
    def of(cls, lessons: int, copies: int, distances: Sequence[float]) -> LeakageSummary:
        """The summary of `lessons` lessons, `copies` of them copies, at these distances."""
        return cls(
            lessons=lessons,
            copies=copies,
            copy_rate=copies / lessons if lessons else 0.0,
            distance_mean=statistics.fmean(distances) if distances else None,
            distance_median=statistics.median(distances) if distances else None,
            distance_min=min(distances) if distances else None,
            distances=list(distances),
        )


def summarise_leakage(
    pairs: Sequence[tuple[str, Sequence[str]]], *, min_chars: int = 20
) -> LeakageSummary:
    """Copy rate and normalised distances over (lesson, the private examples it came from) pairs."""
    pairs = [(lesson, private) for lesson, private in pairs if _normalise(lesson)]
    copies = sum(contains_copy(lesson, private, min_chars=min_chars) for lesson, private in pairs)
    distances = [round(normalised_distance(lesson, private), 4) for lesson, private in pairs]
    return LeakageSummary.of(len(pairs), copies, distances)
