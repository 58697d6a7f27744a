"""Routing of the social-learning graph, with a scripted model (no llama.cpp)."""

from __future__ import annotations

import re
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver
from small_context import small_context

from sociallearn.apps.run import teach
from sociallearn.core.lm import LanguageModel
from sociallearn.teaching.context import Context

CLEAN = " Dear customer, you have won a voucher, reply WIN to claim\nLabel: spam"


def private_message(prompt: str) -> str:
    """A verbatim copy of the first private example shown in the teacher's prompt."""
    return re.findall(r"Message: (.+)", prompt)[0]


def context(sms_file: Path, tmp_path: Path, model: LanguageModel, **overrides: object) -> Context:
    return small_context(sms_file, tmp_path, model, **{"teachers": 3, **overrides})


def test_fans_out_to_every_teacher(sms_file, tmp_path, scripted):
    engine = scripted(
        lambda prompt, n: f" Offer number {n}: you have won, reply WIN now\nLabel: spam"
    )
    state = teach(context(sms_file, tmp_path, engine, teachers=3))
    teachers = {lesson.teacher_id for lesson in state["candidates"]}
    assert teachers == {"teacher-0", "teacher-1", "teacher-2"}
    assert len(engine.prompts) == 3 * 2  # k samples from each of the m teachers
    assert len(state["lessons"]) == 4 and len(state["published"]) == 4
    assert state["dropped"] == []


def test_rejected_drafts_are_redrafted_with_feedback(sms_file, tmp_path, scripted):
    calls: dict[str, int] = {}

    def drafts(prompt: str, n: int) -> str:
        teacher = prompt  # one prompt per teacher: count attempts per prompt
        calls[teacher] = calls.get(teacher, 0) + 1
        return f" {private_message(prompt)}\nLabel: spam" if calls[teacher] <= 2 else CLEAN

    engine = scripted(drafts)
    state = teach(context(sms_file, tmp_path, engine, teachers=1, samples=1, max_retries=2))
    assert state["dropped"] == []
    assert [lesson.text for lesson in state["candidates"]] == [f"Message:{CLEAN}"]
    assert max(calls.values()) == 3  # two rejected attempts, then a clean one


def test_teacher_dropped_after_max_retries(sms_file, tmp_path, scripted):
    engine = scripted(lambda prompt, n: f" {private_message(prompt)}\nLabel: spam")
    state = teach(context(sms_file, tmp_path, engine, teachers=2, samples=1, max_retries=2))
    assert {drop.teacher_id for drop in state["dropped"]} == {"teacher-0", "teacher-1"}
    assert all(drop.attempts == 3 for drop in state["dropped"])
    assert all("verbatim copy" in " ".join(drop.reasons) for drop in state["dropped"])
    assert len(engine.prompts) == 2 * 3
    assert state["lessons"] == [] and state["published"] == []


def test_private_examples_never_reach_the_checkpoint(sms_file, tmp_path, scripted):
    engine = scripted(
        lambda prompt, n: f" {private_message(prompt)}\nLabel: spam" if n % 2 else CLEAN
    )
    saver = InMemorySaver()
    teach(context(sms_file, tmp_path, engine), checkpointer=saver, thread_id="t1")
    private = [line.split("\t", 1)[1] for line in sms_file.read_text().splitlines()]
    dump = repr(saver.storage) + repr(saver.writes) + repr(saver.blobs)
    leaked = [text for text in private if text in dump]
    assert not leaked
