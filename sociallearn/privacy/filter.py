"""The privacy filter's detectors: copies of private examples, PII, and planted canaries.

Copies (exact, near, or sharing a long word n-gram with a private example) and canaries are
rejected. PII is redacted to a typed placeholder by default (SMS spam is full of phone numbers
and URLs, so dropping every example that has one would starve the spam class), or rejected
when `pii="reject"`. Reasons name the rule and numbers, never the private text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from sociallearn.schema import Verdict


@dataclass(frozen=True)
class FilterSettings:
    """Thresholds of the privacy filter."""

    near_copy_distance: float = 0.2  # reject below this normalised edit distance
    min_copy_chars: int = 20  # shorter overlaps are too generic to count as copies
    ngram: int = 8  # reject a shared run of this many words
    pii: Literal["redact", "reject"] = "redact"
    canaries: tuple[str, ...] = ()


_SEP = r"[\s.\-()/]*"
_PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "email": re.compile(
        r"[\w.+-]+\s*(?:@|\(at\)|\[at\]|\s+at\s+)\s*[\w-]+(?:\s*(?:\.|\(dot\)|\[dot\]|\s+dot\s+)\s*[\w-]+)*"
        r"\s*(?:\.|\(dot\)|\[dot\]|\s+dot\s+)\s*(?:com|org|net|edu|gov|io|co|uk|de|fr|info|biz)\b",
        re.I,
    ),
    "url": re.compile(r"\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|net|org|co\.uk|biz|info)(?:/\S*)?\b", re.I),
    "card": re.compile(r"\b(?:\d{4}[\s-]?){3}\d{1,4}\b"),
    "phone": re.compile(rf"(?<![\w])\+?\d(?:{_SEP}\d){{6,}}(?![\w])"),
    "code": re.compile(r"(?<![\w])\d{5,}(?![\w])"),
}
PII_PLACEHOLDER = {kind: f"[{kind.upper()}]" for kind in _PII_PATTERNS}


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"\s+", " ", text).strip()


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", _normalise(text))


def copy_distance(candidate: str, private: str) -> float:
    """Normalised edit distance from the shorter text to its best-matching substring in the other."""
    a, b = _normalise(candidate), _normalise(private)
    if not a or not b:
        return 1.0
    return 1.0 - fuzz.partial_ratio(a, b) / 100.0


def shares_ngram(candidate: str, private: str, n: int) -> bool:
    words_a, words_b = _words(candidate), _words(private)
    if len(words_a) < n or len(words_b) < n:
        return False
    grams = {tuple(words_b[i : i + n]) for i in range(len(words_b) - n + 1)}
    return any(tuple(words_a[i : i + n]) in grams for i in range(len(words_a) - n + 1))


def find_pii(text: str) -> dict[str, int]:
    """Counts of each kind of PII found in `text`."""
    counts: dict[str, int] = {}
    remaining = text
    for kind, pattern in _PII_PATTERNS.items():
        hits = pattern.findall(remaining)
        if hits:
            counts[kind] = len(hits)
            remaining = pattern.sub(" ", remaining)
    return counts


def redact_pii(text: str) -> tuple[str, dict[str, int]]:
    """`text` with every PII match replaced by its placeholder, and the counts replaced."""
    counts: dict[str, int] = {}
    for kind, pattern in _PII_PATTERNS.items():
        text, hits = pattern.subn(PII_PLACEHOLDER[kind], text)
        if hits:
            counts[kind] = hits
    return text, counts


def check(
    candidate: str, private_texts: Sequence[str], settings: FilterSettings
) -> tuple[Verdict, str]:
    """The verdict on `candidate`, and its text as it may be shared (redacted if needed)."""
    reasons: list[str] = []
    normalised = _normalise(candidate)
    for canary in settings.canaries:
        if canary and _normalise(canary) in normalised:
            reasons.append("canary: contains a planted canary")
    worst = 1.0
    for private in private_texts:
        shorter = min(len(_normalise(private)), len(normalised))
        if shorter < settings.min_copy_chars:
            continue
        distance = copy_distance(candidate, private)
        worst = min(worst, distance)
        if distance < settings.near_copy_distance:
            kind = "verbatim copy" if distance == 0 else "near copy"
            reasons.append(
                f"{kind}: normalised edit distance {distance:.3f} to a private example "
                f"< {settings.near_copy_distance}"
            )
            break
        if shares_ngram(candidate, private, settings.ngram):
            reasons.append(f"copy: shares a {settings.ngram}-word run with a private example")
            break
    text, redactions = candidate, {}
    pii = find_pii(candidate)
    if pii:
        if settings.pii == "reject":
            reasons.append("pii: " + ", ".join(f"{k}×{v}" for k, v in sorted(pii.items())))
        else:
            text, redactions = redact_pii(candidate)
    verdict = Verdict(
        passed=not reasons,
        reasons=reasons,
        redactions=redactions,
        max_similarity=round(1.0 - worst, 4),
    )
    return verdict, text
