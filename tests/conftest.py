"""Shared fixtures: a small SMS dataset file and scripted models for routing tests."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from sociallearn.core.lm import ScriptedLM

SPAM = [
    "Congratulations you have been selected for a free cruise holiday reply YES now",
    "URGENT your account has won a cash bonus claim it today before midnight",
    "Get cheap ringtones every week, text TONE to subscribe and win a prize",
    "You are a winner of our weekly lottery draw, call to collect your reward",
    "Limited offer: free entry into our competition for a brand new car",
    "Hot singles in your area want to chat, reply CHAT for free minutes",
]
HAM = [
    "Are we still meeting for coffee at the station after work today",
    "Mum says dinner is at seven so please do not be late again",
    "I left my umbrella in your car yesterday can you bring it tomorrow",
    "Sorry I missed your call, I was in the library revising for exams",
    "The match was brilliant last night, we should watch the next one together",
    "Can you pick up some bread and milk on the way home please",
]


def write_sms(path: Path, pairs: int) -> Path:
    """An SMS Spam Collection file of `pairs` spam and ham messages (label<TAB>text)."""
    rng = random.Random(0)
    lines = []
    for i in range(pairs):
        lines += [f"spam\t{rng.choice(SPAM)} ref{i}", f"ham\t{rng.choice(HAM)} ok{i}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def sms_file(tmp_path: Path) -> Path:
    """A small SMS Spam Collection file in the upstream format (label<TAB>text)."""
    return write_sms(tmp_path / "SMSSpamCollection", 10)


@pytest.fixture
def larger_sms_file(tmp_path: Path) -> Path:
    """An SMS file large enough for a teacher to hold back a few examples of each label."""
    return write_sms(tmp_path / "SMSSpamCollection", 24)


@pytest.fixture
def sms_writer() -> Callable[[Path, int], Path]:
    """Writes an SMS file of the given number of spam/ham pairs (for tests that need a size)."""
    return write_sms


@pytest.fixture
def scripted() -> Callable[[Callable[[str, int], str]], ScriptedLM]:
    """A scripted model: `script(prompt, call_number)` decides each completion."""
    return ScriptedLM


@pytest.fixture
def scripted_cli(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[Callable[[str, int], str]], ScriptedLM]:
    """A scripted model that every `ModelPool` the CLI opens loads for every model name."""

    def install(script: Callable[[str, int], str]) -> ScriptedLM:
        model = ScriptedLM(script)
        monkeypatch.setattr("sociallearn.engine.pool.load_llama", lambda name, layers: model)
        return model

    return install
