"""The owner's review on disk: lessons a teacher service holds back until its owner decides.

One SQLite file (`serve-teacher --reviews FILE`) keeps each held teach request (who asked, for
which run and teacher, and the rest of its answer: drops and numbers) and each of its lessons
as it passed the privacy filter, with the owner's decision once made. It holds no private
example: only lesson texts that passed the filter, the filter's verdicts, edits that passed it
too, and the owner's reasons. It outlives the service: a service killed mid-review finds its
held requests and their pending lessons again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sociallearn.core.schema import Lesson

Status = Literal["pending", "approved", "edited", "rejected", "expired"]
DECISIONS: tuple[Status, ...] = ("approved", "edited", "rejected", "expired")

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    coordinator TEXT NOT NULL,
    run_id TEXT NOT NULL,
    teacher_id TEXT NOT NULL,
    held_at REAL NOT NULL,
    rest TEXT NOT NULL,  -- the answer besides its lessons (JSON): drops, numbers
    PRIMARY KEY (coordinator, run_id, teacher_id)
);
CREATE TABLE IF NOT EXISTS lessons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    coordinator TEXT NOT NULL,
    run_id TEXT NOT NULL,
    teacher_id TEXT NOT NULL,
    lesson TEXT NOT NULL,  -- the lesson as it passed the filter (JSON)
    status TEXT NOT NULL DEFAULT 'pending',
    released TEXT,  -- the lesson as it leaves, approved or edited (JSON)
    reason TEXT NOT NULL DEFAULT '',
    decided_at REAL
);
"""


@dataclass(frozen=True)
class RequestKey:
    """A teach request, as a coordinator would retry it."""

    coordinator: str
    run_id: str
    teacher_id: str


@dataclass(frozen=True)
class HeldRequest:
    """A teach request whose lessons were held: when, and the rest of its answer."""

    key: RequestKey
    held_at: float
    rest: dict[str, Any]


@dataclass(frozen=True)
class HeldLesson:
    """One held lesson and the owner's decision on it."""

    id: int
    key: RequestKey
    lesson: Lesson
    status: Status
    released: Lesson | None
    reason: str
    decided_at: float | None

    def as_json(self) -> dict[str, Any]:
        """What the owner's page and command line show."""
        return {
            "id": self.id,
            "coordinator": self.key.coordinator,
            "run_id": self.key.run_id,
            "teacher_id": self.key.teacher_id,
            "kind": self.lesson.kind,
            "text": self.lesson.text,
            "verdict": self.lesson.verdict.model_dump(mode="json"),
            "status": self.status,
            "released_text": self.released.text if self.released else None,
            "reason": self.reason,
            "decided_at": self.decided_at,
        }


class ReviewStore:
    """Held requests and lessons in one SQLite file, safe to use from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write = threading.Lock()
        with self._connection() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction (committed on success)."""
        with closing(sqlite3.connect(self.path, timeout=30)) as db, db:
            db.row_factory = sqlite3.Row
            yield db

    def hold(self, key: RequestKey, lessons: list[Lesson], rest: dict[str, Any]) -> None:
        """Keep a request's lessons pending, and the rest of its answer (drops, numbers)."""
        with self._write, self._connection() as db:
            db.execute(
                "INSERT INTO requests VALUES (?, ?, ?, ?, ?)",
                (key.coordinator, key.run_id, key.teacher_id, time.time(), json.dumps(rest)),
            )
            db.executemany(
                "INSERT INTO lessons (coordinator, run_id, teacher_id, lesson) VALUES (?, ?, ?, ?)",
                [
                    (key.coordinator, key.run_id, key.teacher_id, lesson.model_dump_json())
                    for lesson in lessons
                ],
            )

    def request(self, key: RequestKey) -> HeldRequest | None:
        """The held request `key`, if there is one."""
        with self._connection() as db:
            row = db.execute(
                "SELECT held_at, rest FROM requests "
                "WHERE coordinator = ? AND run_id = ? AND teacher_id = ?",
                (key.coordinator, key.run_id, key.teacher_id),
            ).fetchone()
        return None if row is None else HeldRequest(key, row["held_at"], json.loads(row["rest"]))

    def lessons_of(self, key: RequestKey) -> list[HeldLesson]:
        """A request's lessons, in the order the teacher gave them."""
        return self._select(
            "WHERE coordinator = ? AND run_id = ? AND teacher_id = ? ORDER BY id",
            (key.coordinator, key.run_id, key.teacher_id),
        )

    def lesson(self, lesson_id: int) -> HeldLesson | None:
        found = self._select("WHERE id = ?", (lesson_id,))
        return found[0] if found else None

    def pending(self) -> list[HeldLesson]:
        """Every lesson waiting for the owner, oldest first."""
        return self._select("WHERE status = 'pending' ORDER BY id", ())

    def history(self) -> list[HeldLesson]:
        """Every decided lesson, latest decision first."""
        return self._select("WHERE status != 'pending' ORDER BY decided_at DESC, id DESC", ())

    def decide(
        self, lesson_id: int, status: Status, *, released: Lesson | None = None, reason: str = ""
    ) -> bool:
        """Record the decision on a pending lesson; False if it was not pending."""
        with self._write, self._connection() as db:
            changed = db.execute(
                "UPDATE lessons SET status = ?, released = ?, reason = ?, decided_at = ? "
                "WHERE id = ? AND status = 'pending'",
                (
                    status,
                    released.model_dump_json() if released else None,
                    reason,
                    time.time(),
                    lesson_id,
                ),
            ).rowcount
        return bool(changed)

    def expire(self, key: RequestKey, reason: str) -> int:
        """Mark a request's lessons still pending as expired; how many."""
        with self._write, self._connection() as db:
            return db.execute(
                "UPDATE lessons SET status = 'expired', reason = ?, decided_at = ? "
                "WHERE coordinator = ? AND run_id = ? AND teacher_id = ? AND status = 'pending'",
                (reason, time.time(), key.coordinator, key.run_id, key.teacher_id),
            ).rowcount

    def _select(self, where: str, values: tuple[Any, ...]) -> list[HeldLesson]:
        with self._connection() as db:
            rows = db.execute(f"SELECT * FROM lessons {where}", values).fetchall()
        return [
            HeldLesson(
                id=row["id"],
                key=RequestKey(row["coordinator"], row["run_id"], row["teacher_id"]),
                lesson=Lesson.model_validate_json(row["lesson"]),
                status=row["status"],
                released=Lesson.model_validate_json(row["released"]) if row["released"] else None,
                reason=row["reason"],
                decided_at=row["decided_at"],
            )
            for row in rows
        ]
