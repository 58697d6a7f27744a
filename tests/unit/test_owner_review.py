"""The data owner's review: nothing leaves a teacher service before its owner approves it; the
held lessons and decisions outlive a restart; a wait for the owner blocks no other request."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from owner_reviews import INSTRUCTION, Waiting, held, reviewing_service, teach

from sociallearn.core.lm import ScriptedLM
from sociallearn.core.schema import Lesson
from sociallearn.graphs.teacher_service import graph as service_graph
from sociallearn.stores.reviews import RequestKey, ReviewStore
from sociallearn.teaching.owner_review import AlreadyDecided, EditRefused, UnknownLesson
from sociallearn.teaching.settings import ServiceConfig, Settings


def reasons(answer: dict[str, Any]) -> list[str]:
    return [reason for drop in answer["dropped"] for reason in drop.reasons]


def journal(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def lesson(text: str = INSTRUCTION) -> Lesson:
    return Lesson(
        task="sms_spam", kind="instruction", text=text, teacher_id="teacher-0",
        teacher_model="smollm2", run_id="r", method="instructions",
    )  # fmt: skip


def test_the_store_keeps_requests_lessons_and_decisions_across_reopening(tmp_path):
    key = RequestKey("alice", "r", "teacher-0")
    store = ReviewStore(tmp_path / "reviews.sqlite")
    store.hold(key, [lesson(), lesson("Ham is everyday talk.")], {"acceptance": {"x": {}}})
    first, second = store.pending()
    assert store.decide(first.id, "approved", released=first.lesson)
    assert not store.decide(first.id, "rejected")  # decided once
    reopened = ReviewStore(tmp_path / "reviews.sqlite")
    assert reopened.request(key).rest == {"acceptance": {"x": {}}}
    assert [h.id for h in reopened.pending()] == [second.id]
    assert reopened.expire(key, "too late") == 1
    assert [(h.id, h.status) for h in reopened.history()] == [(second.id, "expired"),
                                                               (first.id, "approved")]  # fmt: skip
    assert reopened.lesson(first.id).released == first.lesson
    assert reopened.request(RequestKey("bob", "r", "teacher-0")) is None


def test_nothing_leaves_before_the_owner_approves(sms_file, tmp_path):
    running = reviewing_service(sms_file, tmp_path)
    request = Waiting(lambda: teach(running))
    (lesson_id,) = held(running)
    pending = running.review.pending()[0]
    assert (pending.key, pending.lesson.text) == (
        RequestKey("alice", "r", "teacher-0"),
        INSTRUCTION,
    )
    assert pending.as_json()["verdict"]["passed"] is True
    assert request.thread.is_alive() and not journal_exists(tmp_path)
    running.review.approve(lesson_id)
    answer = request.result()
    assert [(c.text, c.review) for c in answer["candidates"]] == [(INSTRUCTION, "approved")]
    (entry,) = journal(tmp_path)
    assert entry["lessons"] == 1
    assert entry["review"] == {"approved": 1, "edited": 0, "rejected": 0, "expired": 0}
    assert INSTRUCTION not in (tmp_path / "journal.jsonl").read_text()  # counts, no text
    with pytest.raises(AlreadyDecided):
        running.review.reject(lesson_id, "changed my mind")
    with pytest.raises(UnknownLesson):
        running.review.approve(999)


def journal_exists(tmp_path: Path) -> bool:
    return (tmp_path / "journal.jsonl").exists()


def test_an_edit_leaves_only_if_the_filter_passes_it_as_written(sms_file, tmp_path):
    running = reviewing_service(sms_file, tmp_path)
    request = Waiting(lambda: teach(running))
    (lesson_id,) = held(running)
    private = running.examples[0].input
    refused = {
        f"Spam reads like this: {private}": "near copy",  # a private example, verbatim
        "Spam asks you to call 07700 900123 for a prize.": "it would redact phone×1",
        "Spam asks you to mail jane.doe@example.com for a prize.": "it would redact email×1",
    }
    for text, why in refused.items():
        with pytest.raises(EditRefused, match=why):
            running.review.edit(lesson_id, text)
    assert [h.id for h in running.review.pending()] == [lesson_id]  # still pending
    edit = "Spam promises prizes and urges a quick reply; ham is ordinary chat."
    running.review.edit(lesson_id, edit)
    answer = request.result()
    assert [(c.text, c.review, c.verdict.passed) for c in answer["candidates"]] == [
        (edit, "edited", True)
    ]
    stored = (tmp_path / "reviews.sqlite").read_bytes()
    assert all(example.input.encode() not in stored for example in running.examples)
    assert b"07700" not in stored and b"jane.doe" not in stored  # refused edits are not kept


def test_rejected_and_expired_lessons_are_drops_that_name_no_text(sms_file, tmp_path):
    running = reviewing_service(sms_file, tmp_path, review_timeout=60)
    rejected = Waiting(lambda: teach(running, run_id="r1"))
    (lesson_id,) = held(running)
    running.review.reject(lesson_id, "too vague for Acme's customers")
    answer = rejected.result()
    assert answer["candidates"] == []
    assert reasons(answer) == ["the data owner rejected 1 lessons"]
    assert running.review.history()[0].reason == "too vague for Acme's customers"

    impatient = reviewing_service(sms_file, tmp_path, review_timeout=0.3)
    answer = teach(impatient, run_id="r2")
    assert answer["candidates"] == []
    assert reasons(answer) == [
        "1 lessons had no decision from the data owner within the review time"
    ]
    assert [h.status for h in impatient.review.history()][:1] == ["expired"]
    outcomes = [entry["review"] for entry in journal(tmp_path)]
    assert [(o["rejected"], o["expired"]) for o in outcomes] == [(1, 0), (0, 1)]
    assert "Acme" not in (tmp_path / "journal.jsonl").read_text()


def test_after_a_restart_the_retried_request_waits_on_the_held_lessons(sms_file, tmp_path):
    first = reviewing_service(sms_file, tmp_path)
    abandoned = Waiting(lambda: teach(first))  # the service dies with this request waiting
    (lesson_id,) = held(first)
    prompts: list[str] = []
    counting = ScriptedLM(lambda prompt, call: prompts.append(prompt) or INSTRUCTION)
    restarted = reviewing_service(sms_file, tmp_path, model=counting)
    assert [h.id for h in restarted.review.pending()] == [lesson_id]  # still listed
    retried = Waiting(lambda: teach(restarted))
    time.sleep(0.3)
    assert retried.thread.is_alive()
    restarted.review.approve(lesson_id)
    assert [c.text for c in retried.result()["candidates"]] == [INSTRUCTION]
    assert prompts == []  # not taught again
    assert [c.text for c in abandoned.result()["candidates"]] == [INSTRUCTION]
    bob = Waiting(lambda: teach(restarted, coordinator="bob"))  # the same run, another caller
    (bobs,) = held(restarted)
    assert prompts and bobs != lesson_id
    restarted.review.approve(bobs)
    assert len(bob.result()["candidates"]) == 1


def test_budgets_count_only_released_lessons(sms_file, tmp_path):
    running = reviewing_service(sms_file, tmp_path, max_lessons=1)
    request = Waiting(lambda: teach(running, run_id="r1"))
    running.review.reject(held(running)[0], "no")
    assert request.result()["candidates"] == []
    assert running.spent["alice"].lessons == 0
    request = Waiting(lambda: teach(running, run_id="r2"))
    running.review.approve(held(running)[0])
    assert len(request.result()["candidates"]) == 1
    assert running.spent["alice"].lessons == 1
    assert (
        "alice has had the 1 lessons this service releases"
        in reasons(teach(running, run_id="r3"))[0]
    )


def test_judge_requests_are_served_while_a_teach_request_waits(sms_file, tmp_path):
    running = reviewing_service(sms_file, tmp_path)
    request = Waiting(lambda: teach(running))
    held(running)
    judged = Waiting(lambda: running.judge("teacher-0", Settings().public(), ["x"], "bob"))
    assert len(judged.result()["scores"]) == 1
    other = Waiting(lambda: teach(running, run_id="r2", coordinator="bob"))
    held(running, count=2)  # another teach request was served up to the owner too
    assert request.thread.is_alive()
    for pending in running.review.pending():
        running.review.approve(pending.id)
    assert request.result()["candidates"] and other.result()["candidates"]


def test_the_service_graph_streams_that_lessons_wait_for_the_owner(sms_file, tmp_path, monkeypatch):
    running = reviewing_service(sms_file, tmp_path)
    monkeypatch.setattr("sociallearn.teaching.service._service", running)
    request = {"request": "teach", "teacher_id": "teacher-0", "run_id": "r",
               "settings": Settings(method="instructions").public()}  # fmt: skip
    parts: list[tuple[str, Any]] = []
    streaming = threading.Thread(
        target=lambda: parts.extend(
            service_graph.stream(request, stream_mode=["custom", "values"])
        ),
        daemon=True,
    )
    streaming.start()
    running.review.approve(held(running)[0])
    streaming.join(timeout=60)
    assert ("custom", {"pending_review": 1}) in parts
    assert [c.text for c in parts[-1][1]["candidates"]] == [INSTRUCTION]


def test_review_needs_a_file_that_outlives_a_restart(sms_file):
    with pytest.raises(ValueError, match=r"--review needs --reviews FILE"):
        ServiceConfig(data=str(sms_file), review=True)
