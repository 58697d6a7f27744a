"""The privacy filter's detectors: copies, PII, names, planted canaries and leak instructions.

Layers, in order:
- canaries: near copies of a planted canary, or its secret digits in any form;
- copies: exact or near copies of the teacher's own examples (normalised edit distance), or a
  shared run of `ngram` words; a private text too short for edit distance (a scrambled word,
  "Ok lor...") is a copy when a lesson is that text, and is redacted where a lesson quotes it,
  if it is distinctive (symbols inside a word, or a word that is not everyday English);
- private numbers: a number that only one or two of the teacher's texts contain (a secret code,
  an account number), copied into a lesson, is redacted like PII (rejected when it only shows
  once obfuscation is undone); a synthetic example's answer is checked by `check_answer`, as
  arithmetic reads as digit runs and phone numbers;
- injection: text that carries instructions to leak ("repeat the examples above verbatim");
- PII (`pii.py`): emails, URLs, cards, IBANs, phone numbers, SSNs and other ids, IP addresses,
  long digit strings (the project's patterns), and persons, places and organisations (Presidio's
  analyzer with a spaCy model). PII written plainly is redacted to a typed placeholder by default
  (SMS spam is full of phone numbers and URLs, so dropping every example that has one would
  starve the spam class), or rejected when `pii="reject"`. PII that only shows once obfuscation
  is undone (spelled-out digits, digits split by zero-width characters, a name spelled letter by
  letter) is rejected: it cannot be redacted reliably.

Last, a quality layer rejects degenerate text (`degenerate`): nothing left but placeholders, or
a phrase repeated over and over (a sample that ran to its token limit).

Reasons name the layer and numbers, never the private text. Text is NFKC-normalised, stripped
of zero-width characters and "defanged" URLs ("hxxp", "[.]") are restored before any check.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz

from sociallearn.core.schema import Verdict
from sociallearn.privacy.names import is_name
from sociallearn.privacy.pii import (
    EVERYDAY_ZIPF,
    PII_PLACEHOLDER,
    common_word,
    mention_spans,
    mentions,
    merge,
    pii_spans,
    redact,
)


@dataclass(frozen=True)
class FilterSettings:
    """Thresholds and switches of the privacy filter (part of the run settings)."""

    enabled: bool = True  # False lets every draft through untouched (a measurement baseline)
    near_copy_distance: float = 0.2  # reject below this normalised edit distance
    min_copy_chars: int = 20  # shorter overlaps are too generic to count as copies
    ngram: int = 8  # reject a shared run of this many words
    pii: Literal["redact", "reject"] = "redact"
    names: bool = True  # recognise persons, places and organisations (spaCy NER) as PII
    library: bool = True  # add Presidio's recognisers (NER, checksums) to the own patterns
    injection: bool = True  # reject text that instructs a model to leak data
    canaries: tuple[str, ...] = ()
    planted_canary: bool = True  # the filter node adds the run's planted canary to `canaries`
    canary_distance: float = 0.25  # reject text closer than this to a canary
    secret_digits: int = 4  # digit runs of this length in a canary are its secrets
    # A number of `secret_digits` or more digits that at most this many of the teacher's private
    # texts contain identifies them (a code, an account, a phone number): copied into a lesson,
    # it is redacted (or rejected, like PII); numbers common in the data ("£1000") are kept.
    # 0 switches the layer off.
    rare_number_texts: int = 2

    def __post_init__(self) -> None:
        for name in ("near_copy_distance", "canary_distance"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FilterSettings.{name} must be in [0, 1], got {value}")
        for name in ("min_copy_chars", "ngram", "secret_digits"):
            if getattr(self, name) < 1:
                raise ValueError(f"FilterSettings.{name} must be at least 1")
        if self.rare_number_texts < 0:
            raise ValueError("FilterSettings.rare_number_texts must be at least 0")


_SEP = r"[\s.\-()/_*|]{0,3}"
_ZERO_WIDTH = re.compile(r"[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")
_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "nought": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_DIGIT_WORD = re.compile(r"\b(" + "|".join(_DIGIT_WORDS) + r")\b", re.I)
_TEENS = [
    "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]  # fmt: skip
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER_WORD = re.compile(
    rf"\b(?:(?P<teen>{'|'.join(_TEENS)})|(?P<tens>{'|'.join(_TENS)})"
    rf"(?:[\s-]+(?P<unit>{'|'.join(list(_DIGIT_WORDS)[3:])}))?)\b",
    re.I,
)
_DIGIT_RUN = re.compile(rf"\d(?:{_SEP}\d)*")
# Four or more single letters split by spaces or punctuation: "J e n n i f e r", "J.E.N.N.Y".
_SPELLED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][\s.\-_*/|,]{1,2}){3,}[^\W\d_](?![^\W\d_])")
_INJECTION = [
    re.compile(
        r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,30}\b(?:previous|prior|above|earlier|"
        r"all|your|any)\b[^.\n]{0,20}\b(?:instructions?|rules?|prompts?|directions?|guidelines?)"
    ),
    re.compile(
        r"\b(?:verbatim|word[\s-]for[\s-]word|character[\s-]for[\s-]character|"
        r"exactly as (?:written|shown|given|above))\b"
    ),
    re.compile(
        r"\b(?:repeat|copy|reproduce|print|recite|quote|dump|reveal|leak|paste|write out|echo)\b"
        r"[^.\n]{0,40}\b(?:above|previous|earlier|preceding|private|hidden|secret|training|"
        r"original|other)\b[^.\n]{0,20}\b(?:examples?|messages?|data|records?|prompts?|texts?|"
        r"inputs?|conversations?|instructions?)\b"
    ),
    re.compile(
        r"\b(?:repeat|print|reveal|show|dump|leak|recite|output)\b[^.\n]{0,20}"
        r"\b(?:system prompt|your (?:instructions|prompt|context))\b"
    ),
]
_NEGATED = re.compile(r"\b(?:not|never|no|don't|dont|mustn't|shouldn't)\s+(?:\w+\s+){0,4}$")


def clean(text: str) -> str:
    """NFKC form without zero-width characters, with defanged URLs restored."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
    text = re.sub(r"\bhxxp", "http", text, flags=re.I)
    return re.sub(r"[\[(]\.[\])]", ".", text)


def _two_digits(match: re.Match[str]) -> str:
    if match["teen"]:
        return str(10 + _TEENS.index(match["teen"].lower()))
    unit = _DIGIT_WORDS[match["unit"].lower()] if match["unit"] else "0"
    return f"{_TENS.index(match['tens'].lower()) + 2}{unit}"


def reveal(text: str) -> str:
    """`clean(text)` with spelled-out numbers below 100 in digits ("forty-eight two" → "48 2")."""
    text = _NUMBER_WORD.sub(_two_digits, clean(text))
    return _DIGIT_WORD.sub(lambda m: _DIGIT_WORDS[m[1].lower()], text)


# Every candidate is checked against the same private texts: normalise each of them once.
@functools.lru_cache(maxsize=65536)
def _normalise(text: str) -> str:
    text = clean(text).lower()
    return re.sub(r"\s+", " ", text).strip()


@functools.lru_cache(maxsize=65536)
def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", _normalise(text)))


def digit_runs(text: str) -> list[str]:
    """Runs of digits in `reveal(text)`, separators (spaces, dots, dashes…) removed."""
    return [re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(reveal(text))]


def carries_secret(text: str, secrets: Iterable[str]) -> bool:
    """Whether a digit run of `text`, in any form `reveal` undoes, contains one of `secrets`."""
    runs = digit_runs(text)
    return any(secret in run for secret in secrets for run in runs)


def spelled_names(text: str) -> int:
    """How many listed first names `text` spells letter by letter ("J e n n i f e r")."""
    words = ("".join(re.findall(r"[^\W\d_]", m[0])) for m in _SPELLED.finditer(clean(text)))
    return sum(is_name(word) for word in words)


def copy_distance(candidate: str, private: str) -> float:
    """Normalised edit distance from the shorter text to its best-matching part of the other."""
    a, b = _normalise(candidate), _normalise(private)
    if not a or not b:
        return 1.0
    return 1.0 - fuzz.partial_ratio(a, b) / 100.0


@functools.lru_cache(maxsize=65536)
def _ngrams(text: str, n: int) -> frozenset[tuple[str, ...]]:
    words = _words(text)
    return frozenset(words[i : i + n] for i in range(len(words) - n + 1))


def shares_ngram(candidate: str, private: str, n: int) -> bool:
    return not _ngrams(candidate, n).isdisjoint(_ngrams(private, n))


def find_pii(text: str, *, names: bool = True, library: bool = True) -> dict[str, int]:
    """Counts of each kind of PII written plainly in `text`."""
    return redact_pii(text, names=names, library=library)[1]


def redact_pii(
    text: str, *, names: bool = True, library: bool = True
) -> tuple[str, dict[str, int]]:
    """`clean(text)` with every PII span replaced by its placeholder, and the counts replaced."""
    text = clean(text)
    return redact(text, pii_spans(text, names=names, library=library))


def find_injection(text: str) -> int:
    """How many leak-instruction patterns `text` matches, negated ones ("do not copy…") aside."""
    lowered = _normalise(text)
    hits = 0
    for pattern in _INJECTION:
        for match in pattern.finditer(lowered):
            sentence = re.split(r"[.!?;\n]", lowered[: match.start()])[-1]
            if not _NEGATED.search(sentence):
                hits += 1
                break
    return hits


def _canary_reasons(candidate: str, settings: FilterSettings) -> list[str]:
    reasons: list[str] = []
    for canary in settings.canaries:
        secrets = [run for run in digit_runs(canary) if len(run) >= settings.secret_digits]
        if carries_secret(candidate, secrets):
            reasons.append("canary: contains a planted canary's secret digits")
            continue
        if min(len(_normalise(canary)), len(_normalise(candidate))) < settings.min_copy_chars:
            continue
        distance = copy_distance(candidate, canary)
        if distance < settings.canary_distance:
            reasons.append(
                f"canary: normalised edit distance {distance:.3f} to a planted canary "
                f"< {settings.canary_distance}"
            )
    return reasons


@functools.lru_cache(maxsize=16)
def rare_numbers(private_texts: tuple[str, ...], digits: int, most_texts: int) -> frozenset[str]:
    """The numbers of at least `digits` digits that at most `most_texts` private texts contain."""
    counts = number_counts(private_texts, digits)
    return frozenset(run for run, texts in counts.items() if texts <= most_texts)


def number_counts(texts: Iterable[str], digits: int) -> Counter[str]:
    """In how many of `texts` each number of at least `digits` digits appears."""
    return Counter(run for text in texts for run in set(digit_runs(text)) if len(run) >= digits)


def redact_numbers(text: str, secrets: frozenset[str]) -> tuple[str, int]:
    """`text` with every digit run that contains one of `secrets` replaced by the code
    placeholder, and how many were replaced."""
    found = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal found
        digits = re.sub(r"\D", "", match[0])
        if not any(secret in digits for secret in secrets):
            return match[0]
        found += 1
        return PII_PLACEHOLDER["code"]

    return _DIGIT_RUN.sub(replace, text), found


QUOTE_PLACEHOLDER = "[PRIVATE EXAMPLE]"
MIN_QUOTE_CHARS = 5  # shorter private texts ("ok", "yes") are not worth redacting


def distinctive(text: str) -> bool:
    """Whether a short private text would identify itself if quoted: at least `MIN_QUOTE_CHARS`
    characters, with symbols inside a word ("d!riv\"e%n") or a word that is not everyday English."""
    text = _normalise(text)
    if len(re.sub(r"\s", "", text)) < MIN_QUOTE_CHARS:
        return False
    if re.search(r"[^\W\d_][^\w\s']+[^\W\d_]", text):
        return True
    return any(not common_word(word, EVERYDAY_ZIPF) for word in re.findall(r"[^\W\d_]+", text))


@functools.lru_cache(maxsize=16)
def quotable(private_texts: tuple[str, ...], min_chars: int) -> re.Pattern[str] | None:
    """One pattern for the distinctive private texts shorter than `min_chars`, each whole and
    case-insensitive, with any run of spaces for a space."""
    quotes = sorted(
        {
            _normalise(text)
            for text in private_texts
            if len(_normalise(text)) < min_chars and distinctive(text)
        },
        key=len,
        reverse=True,
    )
    if not quotes:
        return None
    alternatives = (r"\s+".join(map(re.escape, quote.split(" "))) for quote in quotes)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.I)


def _copy_reasons(
    candidate: str, private_texts: Sequence[str], settings: FilterSettings
) -> tuple[list[str], float]:
    worst = 1.0
    normalised = _normalise(candidate)
    length = len(normalised)
    for private in private_texts:
        if min(len(_normalise(private)), length) < settings.min_copy_chars:
            if normalised and normalised == _normalise(private):
                return ["verbatim copy: the text of a private example"], 0.0
            continue
        distance = copy_distance(candidate, private)
        worst = min(worst, distance)
        if distance < settings.near_copy_distance:
            kind = "verbatim copy" if distance == 0 else "near copy"
            return [
                f"{kind}: normalised edit distance {distance:.3f} to a private example "
                f"< {settings.near_copy_distance}"
            ], worst
        if shares_ngram(candidate, private, settings.ngram):
            return [f"copy: shares a {settings.ngram}-word run with a private example"], worst
    return [], worst


# Kinds of PII that arithmetic does not look like: redacted in an answer as in a question.
WORDY_PII = frozenset({"email", "url", "address", "name", "location", "organisation"})
_NUMBER = re.compile(r"(?<![\d.])\d+(?:,\d{3})*(?:\.\d+)?")
_CALCULATION = re.compile(
    r"(?P<expression>[\d.,$() \t+\-*/x×÷]*\d)[ \t]*=[ \t]*\$?(?P<result>\d[\d,]*(?:\.\d+)?)"
)
# Single digits split by spaces or punctuation other than arithmetic ("7 6 4 6", "7.6.4.6").
_SPLIT_DIGITS = re.compile(r"(?<![\d.])\d(?!\d)(?:[\s.\-_|,]{1,3}\d(?!\d))+")
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Div: operator.truediv}  # fmt: skip


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    raise ValueError("not arithmetic")


def _value(expression: str) -> float | None:
    """The value of an arithmetic expression of numbers ("4/5*20", "$3 x 1,200"), else None."""
    python = re.sub(r"[$,\s]", "", expression).translate(str.maketrans("x×÷", "**/"))
    try:
        return _evaluate(ast.parse(python, mode="eval"))
    except (SyntaxError, ArithmeticError, ValueError):
        return None


def _digits(number: str) -> str:
    """A written number's digits, without thousands separators or trailing decimal zeros."""
    number = number.replace(",", "")
    return re.sub(r"\D", "", number.rstrip("0").rstrip(".") if "." in number else number)


def introduced_numbers(answer: str, question: str) -> set[str]:
    """The numbers (their digits) that `answer` writes, but its question does not give and no
    calculation in it computes: where a worked answer could carry a number of its own.
    GSM8K's calculator notes ("<<48/2=24>>") count as calculations."""
    answer = clean(answer)
    computed = set()
    for match in _CALCULATION.finditer(answer.replace("<<", "\n").replace(">>", "\n")):
        value = _value(match["expression"])
        if value is not None and math.isclose(
            value, float(match["result"].replace(",", "")), rel_tol=1e-6, abs_tol=0.005
        ):
            computed.add(_digits(match["result"]))
    written = {_digits(n) for n in _NUMBER.findall(re.sub(r"<<[^<>]*>>", " ", answer))}
    return written - {_digits(n) for n in _NUMBER.findall(clean(question))} - computed


def check_answer(
    answer: str, question: str, settings: FilterSettings, *, number_texts: Sequence[str]
) -> tuple[Verdict, str]:
    """The verdict on an example's answer (a worked solution, a number, a word) shared with its
    filtered `question`, and the answer as it may be shared.

    Arithmetic reads as digit runs, phone numbers and card numbers, so an answer is not checked
    like free text. It fails when it carries a planted canary's secret, a leak instruction, or a
    rare private number that it introduces (`introduced_numbers`) or spells digit by digit.
    Names, places, organisations, emails, URLs and addresses in it are redacted as in a question.
    """
    reasons = _canary_reasons(answer, settings)
    if settings.injection and (hits := find_injection(answer)):
        reasons.append(f"injection: {hits} leak-instruction pattern(s)")
    if settings.rare_number_texts:
        secrets = rare_numbers(
            tuple(number_texts), settings.secret_digits, settings.rare_number_texts
        )
        if copied := len(introduced_numbers(answer, question) & secrets):
            reasons.append(f"private number: {copied} in the answer, not given or computed")
        split = (re.sub(r"\D", "", m[0]) for m in _SPLIT_DIGITS.finditer(reveal(answer)))
        if any(secret in digits for digits in split for secret in secrets):
            reasons.append("private number (obfuscated): in the answer")
    text = clean(answer)
    spans = pii_spans(text, names=settings.names, library=settings.library)
    redacted, redactions = redact(text, [span for span in spans if span.kind in WORDY_PII])
    if redactions and settings.pii == "reject":
        reasons.append("pii: " + ", ".join(f"{k}×{v}" for k, v in sorted(redactions.items())))
    return _verdict(answer, redacted, reasons, redactions, settings)


def _verdict(
    candidate: str,
    text: str,
    reasons: list[str],
    redactions: dict[str, int],
    settings: FilterSettings,
    similarity: float = 0.0,
) -> tuple[Verdict, str]:
    """The verdict and the text to share; with the filter off, the candidate passes unchanged
    and the verdict lists what it would have been rejected for."""
    if not settings.enabled:
        would = [f"not enforced, would reject: {reason}" for reason in reasons]
        return Verdict(
            passed=True, reasons=["filter disabled", *would], max_similarity=similarity
        ), candidate
    verdict = Verdict(
        passed=not reasons, reasons=reasons, redactions=redactions, max_similarity=similarity
    )
    return verdict, text


def check(
    candidate: str,
    private_texts: Sequence[str],
    settings: FilterSettings,
    *,
    number_texts: Sequence[str] | None = None,
) -> tuple[Verdict, str]:
    """The verdict on `candidate`, and its text as it may be shared (redacted if needed).

    Copies are checked against `private_texts`; rare numbers are those of `number_texts`
    (default `private_texts`), where a silo passes each private example whole, its answer
    included: a number only a private answer holds is as private as one in a question.
    """
    reasons = _canary_reasons(candidate, settings)
    copies, worst = _copy_reasons(candidate, private_texts, settings)
    reasons += copies
    if settings.injection and (hits := find_injection(candidate)):
        reasons.append(f"injection: {hits} leak-instruction pattern(s)")
    text, redactions = clean(candidate), {}
    redacted, plain = redact_pii(candidate, names=settings.names, library=settings.library)
    if plain and settings.pii == "reject":
        reasons.append("pii: " + ", ".join(f"{k}×{v}" for k, v in sorted(plain.items())))
    elif plain:
        text, redactions = redacted, plain
    if settings.rare_number_texts and (
        secrets := rare_numbers(
            tuple(private_texts if number_texts is None else number_texts),
            settings.secret_digits,
            settings.rare_number_texts,
        )
    ):
        redacted, copied = redact_numbers(redacted, secrets)
        if copied and settings.pii == "reject":
            reasons.append(f"private number: {copied} copied from the private examples")
        elif copied:
            text, redactions = redacted, {**redactions, "code": redactions.get("code", 0) + copied}
        if carries_secret(redacted, secrets):
            reasons.append("private number (obfuscated): copied from the private examples")
    if quotes := quotable(tuple(private_texts), settings.min_copy_chars):
        redacted, quoted = quotes.subn(QUOTE_PLACEHOLDER, redacted)
        if quoted and settings.pii == "reject":
            reasons.append(f"copy: quotes {quoted} short private example(s)")
        elif quoted:
            text, redactions = redacted, {**redactions, "copy": quoted}
    hidden = find_pii(reveal(redacted), names=False, library=False)
    if settings.names and (spelled := spelled_names(redacted)):
        hidden["name"] = spelled
    if hidden:
        reasons.append(
            "pii (obfuscated): " + ", ".join(f"{k}×{v}" for k, v in sorted(hidden.items()))
        )
    if reason := degenerate(text):
        reasons.append(reason)
    similarity = round(1.0 - worst, 4)
    return _verdict(candidate, text, reasons, redactions, settings, similarity)


REPEATED_NGRAM = 4  # words in a run that counts as repeated
MOST_REPEATED = 0.5  # the share of a text's words in repeated runs above which it is degenerate
_PLACEHOLDERS = re.compile("|".join(re.escape(p) for p in PII_PLACEHOLDER.values()))


def degenerate(text: str) -> str | None:
    """Why `text` is no usable lesson, or None: it has no words besides placeholders, or over
    `MOST_REPEATED` of its words (12 or more) lie in runs of `REPEATED_NGRAM` words that it
    repeats (a phrase written over and over until the sample's token limit)."""
    words = re.findall(r"\w+", _PLACEHOLDERS.sub(" ", clean(text)).lower())
    if not words:
        return "quality: empty (no words besides placeholders)"
    n = REPEATED_NGRAM
    if len(words) < 3 * n:
        return None
    runs = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    covered = {
        i + j for i in range(len(words) - n + 1) if runs[tuple(words[i : i + n])] > 1
        for j in range(n)
    }  # fmt: skip
    share = len(covered) / len(words)
    if share > MOST_REPEATED:
        return f"quality: repeats itself ({share:.0%} of its words in repeated {n}-word runs)"
    return None


def mentioned_in_either(question: str, answer: str, settings: FilterSettings) -> dict[str, str]:
    """The names, places and organisations the recogniser finds in either of an example's two
    texts (text → kind): a name it finds in the question only ("[NAME] had 70 candies ... Jack
    started with 70") must be redacted in the answer too, or it gives itself away."""
    if not (settings.names and settings.library):
        return {}
    found: dict[str, str] = {}
    for text in (clean(question), clean(answer)):
        found |= mentions(text, pii_spans(text, names=True, library=True))
    return found


def redact_mentions(text: str, found: dict[str, str]) -> tuple[str, dict[str, int]]:
    """`text` with every mention of the names, places and organisations `found` redacted."""
    return redact(text, merge(sorted(mention_spans(text, found), key=lambda s: s.start)))
