"""A teacher service with the owner's review, its model scripted, and teach requests that wait
for the owner in threads while a test plays the owner (review tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sociallearn.core.lm import ScriptedLM
from sociallearn.engine import ModelPool
from sociallearn.graphs.teacher import graph as teacher_graph
from sociallearn.teaching.service import TeacherService
from sociallearn.teaching.settings import ServiceConfig, Settings

INSTRUCTION = "Spam offers prizes or money and asks for a reply; ham is everyday talk."


def reviewing_service(
    sms_file: Path, tmp_path: Path, model: ScriptedLM | None = None, **owner: Any
) -> TeacherService:
    """A service whose lessons wait for its owner, on `model` (default: one instruction)."""
    config = ServiceConfig(
        data=str(sms_file), journal=str(tmp_path / "journal.jsonl"), review=True,
        reviews=str(tmp_path / "reviews.sqlite"), **owner,
    )  # fmt: skip
    running = TeacherService(config)
    running.models = ModelPool.fixed(model or ScriptedLM(lambda prompt, call: INSTRUCTION))
    return running


def teach(
    running: TeacherService, run_id: str = "r", coordinator: str = "alice", **public: Any
) -> dict[str, Any]:
    """A coordinator's teach request (by instructions unless `public` says otherwise)."""

    def run(context):
        return teacher_graph.invoke({"teacher_id": "teacher-0", "run_id": run_id}, context=context)

    settings = Settings(**{"method": "instructions", **public}).public()
    return running.teach("teacher-0", run_id, settings, run, coordinator)


class Waiting:
    """A request answered in a thread, while the test plays the owner."""

    def __init__(self, request: Callable[[], dict[str, Any]]) -> None:
        self.answer: dict[str, Any] = {}
        self.thread = threading.Thread(target=lambda: self.answer.update(request()), daemon=True)
        self.thread.start()

    def result(self) -> dict[str, Any]:
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the request still waits"
        return self.answer


def held(running: TeacherService, count: int = 1) -> list[int]:
    """The ids of the lessons pending, once `count` are."""
    assert running.review is not None
    deadline = time.time() + 60
    while len(pending := running.review.pending()) < count:
        assert time.time() < deadline, "no lesson was held"
        time.sleep(0.05)
    return [lesson.id for lesson in pending]
