"""The filter against adversarial private data: catch rate, and false rejections of clean lessons.

Each case is a candidate lesson, the private examples of the teacher that drafted it, and
whether it leaks. An attack is caught when the filter rejects it, or when the secret it carries
(a phone number, an email, a name, a canary's code) no longer shows in the text it lets out.
A clean lesson is falsely rejected when the filter rejects it; redacting part of it is counted
apart, as "altered".
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import replace
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ValidationError

from sociallearn.privacy.filter import FilterSettings, carries_secret, check

DEFAULT_CASES = "privacy_adversarial.jsonl"


class AdversarialCase(BaseModel):
    id: str
    kind: str  # the attack, or "clean"
    lesson: str
    private: list[str] = []
    canaries: list[str] = []
    secret: str | None = None  # what must not come out, for attacks that redaction can stop
    verbatim: bool = False  # the secret shows only as written (a scrambled word), not by its words
    leaks: bool


class CaseResult(BaseModel):
    id: str
    kind: str
    leaks: bool
    passed: bool
    caught: bool
    altered: bool
    reasons: list[str]


class AdversarialReport(BaseModel):
    attacks: int
    caught: int
    catch_rate: float
    clean: int
    falsely_rejected: int
    false_rejection_rate: float
    clean_altered: int
    clean_altered_rate: float
    catch_rate_by_kind: dict[str, float]
    missed: list[str]  # ids of attacks that got through
    false_rejections: list[str]  # ids of clean lessons rejected
    results: list[CaseResult]


def load_cases(path: Path | None = None) -> list[AdversarialCase]:
    """The shipped adversarial set, or a JSONL file of the same form."""
    if path is None:
        source = resources.files("sociallearn") / "data" / DEFAULT_CASES
        name, text = f"sociallearn/data/{DEFAULT_CASES}", source.read_text(encoding="utf-8")
    else:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: adversarial case file not found")
        name, text = str(path), path.read_text(encoding="utf-8")
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            cases.append(AdversarialCase.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name}, line {number}: invalid JSON ({exc.msg})") from exc
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or "(record)"
            raise ValueError(f"{name}, line {number}: field {field!r}: {error['msg']}") from exc
    if not cases:
        raise ValueError(f"{name}: no cases")
    return cases


def secret_visible(secret: str, text: str, *, verbatim: bool = False) -> bool:
    """Whether `secret` can still be read in `text`: as written (case aside) if `verbatim`, else
    its digits in any form, or all its words."""
    if verbatim:
        return secret.lower() in text.lower()
    digits = re.sub(r"\D", "", secret)
    if len(digits) >= 4:
        return carries_secret(text, [digits])
    words = [w for w in re.findall(r"[^\W\d_]{2,}", secret.lower()) if w not in {"com", "www"}]
    letters = re.sub(r"[\W\d_]", "", text.lower())  # "J e n n i f e r" still reads "jennifer"
    return bool(words) and all(word in letters for word in words)


def run_case(case: AdversarialCase, settings: FilterSettings) -> CaseResult:
    settings = replace(settings, canaries=(*settings.canaries, *case.canaries))
    verdict, shared = check(case.lesson, case.private, settings)
    hidden = case.secret is not None and not secret_visible(
        case.secret, shared, verbatim=case.verbatim
    )
    return CaseResult(
        id=case.id,
        kind=case.kind,
        leaks=case.leaks,
        passed=verdict.passed,
        caught=not verdict.passed or hidden,
        altered=bool(verdict.redactions),
        reasons=verdict.reasons,
    )


def evaluate_filter(
    cases: list[AdversarialCase], settings: FilterSettings | None = None
) -> AdversarialReport:
    """Catch rate on the attacks and false-rejection rate on the clean lessons."""
    results = [run_case(case, settings or FilterSettings()) for case in cases]
    attacks = [r for r in results if r.leaks]
    clean = [r for r in results if not r.leaks]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for result in attacks:
        by_kind[result.kind].append(result.caught)
    caught = sum(r.caught for r in attacks)
    rejected = [r.id for r in clean if not r.passed]
    altered = sum(r.altered for r in clean if r.passed)
    return AdversarialReport(
        attacks=len(attacks),
        caught=caught,
        catch_rate=caught / len(attacks) if attacks else 0.0,
        clean=len(clean),
        falsely_rejected=len(rejected),
        false_rejection_rate=len(rejected) / len(clean) if clean else 0.0,
        clean_altered=altered,
        clean_altered_rate=altered / len(clean) if clean else 0.0,
        catch_rate_by_kind={kind: sum(v) / len(v) for kind, v in sorted(by_kind.items())},
        missed=[r.id for r in attacks if not r.caught],
        false_rejections=rejected,
        results=results,
    )
