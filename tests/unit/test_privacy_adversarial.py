"""The shipped adversarial set: loading, error messages, and the filter's rates on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sociallearn.privacy.adversarial import evaluate_filter, load_cases, secret_visible
from sociallearn.privacy.filter import FilterSettings


def test_shipped_set_has_attacks_of_every_kind_and_clean_lessons():
    cases = load_cases()
    kinds = {case.kind for case in cases}
    assert {
        "copy",
        "injection",
        "phone",
        "email",
        "url",
        "card",
        "name",
        "canary",
        "clean",
    } <= kinds
    assert sum(not case.leaks for case in cases) >= 30


def test_filter_catches_most_attacks_without_rejecting_clean_lessons():
    report = evaluate_filter(load_cases())
    assert report.catch_rate >= 0.9
    assert report.false_rejection_rate <= 0.05
    assert report.caught + len(report.missed) == report.attacks


def test_a_disabled_filter_catches_only_what_is_not_there():
    report = evaluate_filter(load_cases(), FilterSettings(enabled=False))
    assert report.false_rejection_rate == 0.0
    assert report.catch_rate < 0.1  # nothing is rejected or redacted


def test_secret_visibility():
    assert secret_visible("07700900123", "call 0 7 7 0 0 9 0 0 1 2 3")
    assert not secret_visible("07700900123", "call [PHONE]")
    assert secret_visible("Jennifer", "tell J e n n i f e r")
    assert not secret_visible("maria.lopez@gmail.com", "mail [EMAIL]")


def test_bad_case_file_names_line_and_field(tmp_path: Path):
    path = tmp_path / "cases.jsonl"
    good = {"id": "a", "kind": "clean", "lesson": "hi", "leaks": False}
    path.write_text(json.dumps(good) + "\n" + json.dumps({"id": "b", "lesson": "x"}) + "\n")
    with pytest.raises(ValueError, match=r"line 2: field 'kind'"):
        load_cases(path)
    path.write_text("{not json\n")
    with pytest.raises(ValueError, match="line 1: invalid JSON"):
        load_cases(path)
    with pytest.raises(FileNotFoundError):
        load_cases(tmp_path / "missing.jsonl")
