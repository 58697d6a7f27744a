"""A real `sociallearn teach` process is SIGKILLed mid-run, then resumed from its checkpoint."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from sociallearn.core.schema import Lesson
from sociallearn.graphs.social_learning import builder
from sociallearn.stores.library import LessonLibrary
from sociallearn.teaching.settings import Settings

CLI = [sys.executable, "-m", "sociallearn.apps.cli"]


def finished_teachers(checkpoint: Path) -> int:
    """How many teacher subgraphs have durably written their candidates to the parent run."""
    if not checkpoint.exists():
        return 0
    db = sqlite3.connect(checkpoint)
    try:
        rows = db.execute(
            "SELECT DISTINCT task_id FROM writes"
            " WHERE channel = 'candidates' AND checkpoint_ns = ''"
        ).fetchall()
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        db.close()
    return len(rows)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_stop_then_resume_loses_and_repeats_nothing(tmp_path: Path, datasets: Path, stop: int):
    library, checkpoint = tmp_path / "library", tmp_path / "checkpoints.sqlite"
    command = [
        *CLI, "teach", "--preset", "none", "--library", str(library), "--checkpoint", str(checkpoint),
        "--thread-id", "thread-1", "--run-id", "run-1", "--teachers", "3", "--samples", "4",
        "--keep", "2", "--lessons", "4", "--test-size", "20",
    ]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while finished_teachers(checkpoint) == 0:
        assert first.poll() is None, "teach ended before it could be killed"
        assert time.time() < deadline, "no teacher finished in time"
        time.sleep(0.05)
    os.kill(first.pid, stop)
    _, stderr = first.communicate(timeout=30)
    if stop == signal.SIGINT:  # Ctrl-C: a one-line message, no traceback, exit 130
        assert first.returncode == 130
        assert "interrupted: rerun the same command to resume" in stderr
        assert "Traceback" not in stderr
    else:
        assert first.returncode == -signal.SIGKILL

    config = {"configurable": {"thread_id": "thread-1"}}
    with sqlite3.connect(checkpoint, check_same_thread=False) as db:
        saved = SqliteSaver(db).get_tuple(config)  # type: ignore[arg-type]
    assert saved is not None
    before: list[Lesson] = [
        lesson for _, channel, value in saved.pending_writes or [] if channel == "candidates"
        for lesson in value
    ]  # fmt: skip
    done_teachers = {lesson.teacher_id for lesson in before}
    assert before and len(done_teachers) < 3, "the kill came after every teacher had finished"

    second = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    for teacher in done_teachers:  # finished teachers are not taught again
        assert f"{teacher}/drafting" not in second.stderr
    assert any(f"teacher-{i}/drafting" in second.stderr for i in range(3))

    with sqlite3.connect(checkpoint, check_same_thread=False) as db:
        graph = builder.compile(checkpointer=SqliteSaver(db))
        snapshot = graph.get_state(config)  # type: ignore[arg-type]
    assert snapshot.next == ()  # the run finished
    final = snapshot.values
    candidate_ids = [lesson.id for lesson in final["candidates"]]
    assert {lesson.id for lesson in before} <= set(candidate_ids)  # nothing lost
    assert len(candidate_ids) == len(set(candidate_ids))  # nothing repeated
    published = final["published"]
    assert published and len(published) == len(set(published))
    stored = LessonLibrary.open(str(library), Settings().collection).list(run_id="run-1")
    assert sorted(lesson.id for lesson in stored) == sorted(published)
    assert len({lesson.content_hash for lesson in stored}) == len(stored)

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "had already finished" in again.stderr and "drafting" not in again.stderr
    assert LessonLibrary.open(str(library), Settings().collection).count() == len(stored)
