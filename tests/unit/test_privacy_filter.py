"""The privacy filter's detectors on cases with known answers."""

from __future__ import annotations

import pytest

from sociallearn.privacy.filter import FilterSettings, check, copy_distance, find_pii, redact_pii

PRIVATE = ["Are we still meeting for coffee at the station after work today"]


def test_verbatim_and_near_copies_are_rejected():
    settings = FilterSettings()
    verbatim, _ = check(PRIVATE[0], PRIVATE, settings)
    near, _ = check("are we still meeting for cofee at the station after work 2day", PRIVATE, settings)
    assert not verbatim.passed and "verbatim copy" in verbatim.reasons[0]
    assert not near.passed and "near copy" in near.reasons[0]
    assert copy_distance(PRIVATE[0], PRIVATE[0]) == 0.0


def test_shared_long_word_run_is_rejected():
    candidate = "Totally new start, still meeting for coffee at the station after work today, right"
    verdict, _ = check(candidate, PRIVATE, FilterSettings(near_copy_distance=0.01))
    assert not verdict.passed


def test_clean_text_passes():
    verdict, text = check("Shall we have lunch near the park on Friday?", PRIVATE, FilterSettings())
    assert verdict.passed and text.startswith("Shall")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mail me at john.doe@example.com", "email"),
        ("mail me at john dot doe at gmail dot com", "email"),
        ("visit www.win-big.biz/claim now", "url"),
        ("call 0 9 0 6 1 7 0 1 4 6 1 today", "phone"),
        ("call +44 7700 900123", "phone"),
        ("card 4111 1111 1111 1111", "card"),
        ("your code is 48213", "code"),
    ],
)
def test_pii_is_found_and_redacted(text: str, kind: str):
    assert kind in find_pii(text)
    redacted, counts = redact_pii(text)
    assert kind in counts and f"[{kind.upper()}]" in redacted


def test_pii_rejected_when_asked():
    verdict, _ = check("call 09061701461 now", [], FilterSettings(pii="reject"))
    assert not verdict.passed and verdict.reasons[0].startswith("pii")
    redacted, text = check("call 09061701461 now", [], FilterSettings())
    assert redacted.passed and redacted.redactions == {"phone": 1} and "[PHONE]" in text


def test_canary_rejected():
    verdict, _ = check("the code is 7734, said Maria", [], FilterSettings(canaries=("code is 7734",)))
    assert not verdict.passed and verdict.reasons[0].startswith("canary")
