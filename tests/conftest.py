"""Shared fixtures: a small SMS dataset file and a scripted fake engine for routing tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from sociallearn.engine import Score

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


@pytest.fixture
def sms_file(tmp_path: Path) -> Path:
    """A small SMS Spam Collection file in the upstream format (label<TAB>text)."""
    rng = random.Random(0)
    lines = []
    for i in range(10):
        lines += [f"spam\t{rng.choice(SPAM)} ref{i}", f"ham\t{rng.choice(HAM)} ok{i}"]
    path = tmp_path / "SMSSpamCollection"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class FakeEngine:
    """A scripted stand-in for Engine: `drafts(prompt, call_number)` decides each completion."""

    name = "fake"
    has_chat_template = True

    def __init__(self, drafts: Callable[[str, int], str]) -> None:
        self.drafts = drafts
        self.prompts: list[str] = []

    def complete(self, prompt: str, **_: object) -> str:
        self.prompts.append(prompt)
        return self.drafts(prompt, len(self.prompts))

    def sample(self, prompt: str, n: int, **_: object) -> list[str]:
        return [self.complete(prompt) for _ in range(n)]

    def instruct(self, prompt: str, **_: object) -> str:
        return self.complete(prompt)

    def score(self, prefix: str, continuations: Sequence[str]) -> list[Score]:
        return [Score(-float(len(text)), max(1, len(text.split()))) for text in continuations]

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[Score]:
        return [self.score(prefix, [text])[0] for prefix, text in pairs]


@pytest.fixture
def fake_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[Callable[[str, int], str]], FakeEngine]:
    """Install a FakeEngine for every model name used by the graph's nodes."""

    def install(drafts: Callable[[str, int], str]) -> FakeEngine:
        engine = FakeEngine(drafts)
        monkeypatch.setattr("sociallearn.nodes.resources.get_engine", lambda *a, **k: engine)
        return engine

    return install
