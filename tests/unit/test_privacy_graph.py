"""The filter node's switches and the planted canary, routed through the graph with a fake engine."""

from __future__ import annotations

import re
from pathlib import Path

from small_context import small_context

from sociallearn.apps.run import teach
from sociallearn.core.lm import ScriptedLM
from sociallearn.privacy.filter import FilterSettings
from sociallearn.teaching.context import Context

CANARY = "Hi Maria, please don't tell anyone: the secret code for the safe is 4821."


def context(sms_file: Path, tmp_path: Path, **overrides: object) -> Context:
    settings = {"max_retries": 0, "canary": CANARY, "canary_answer": "ham", **overrides}
    return small_context(sms_file, tmp_path, ScriptedLM(copy_first_shot), **settings)


def copy_first_shot(prompt: str, n: int) -> str:
    """A draft that copies one private example shown in the teacher's prompt (the canary, here)."""
    messages = re.findall(r"Message: (.+)", prompt)
    return f" {next(m for m in messages if 'secret code' in m)}\nLabel: ham"


def test_the_canary_is_among_every_teachers_shots(sms_file, tmp_path):
    split = context(sms_file, tmp_path).resources.split
    for silo in split.silos.values():
        shots = silo.shots(4, seed=0)
        assert len(shots) == 4 and [e.input for e in shots].count(CANARY) == 1


def test_disabled_filter_lets_copies_through_and_records_it(sms_file, tmp_path):
    off = FilterSettings(enabled=False)
    state = teach(context(sms_file, tmp_path, privacy=off))
    assert state["dropped"] == [] and state["lessons"]
    for lesson in state["lessons"]:
        assert lesson.input == CANARY
        assert lesson.verdict.passed and lesson.verdict.reasons[0] == "filter disabled"
        assert any("would reject" in reason for reason in lesson.verdict.reasons)


def test_enabled_filter_rejects_the_copied_canary(sms_file, tmp_path):
    state = teach(context(sms_file, tmp_path))
    assert state["lessons"] == [] and len(state["dropped"]) == 2
    assert all("canary" in " ".join(drop.reasons) for drop in state["dropped"])
    blind = teach(context(sms_file, tmp_path, privacy=FilterSettings(planted_canary=False)))
    # Blind to the canary, the filter still rejects it as a verbatim copy of a private example.
    assert all("verbatim copy" in " ".join(drop.reasons) for drop in blind["dropped"])
