"""Structured records that cross the privacy boundary: lessons, verdicts, drops, answers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LessonKind = Literal["instruction", "example"]


class Verdict(BaseModel):
    """The privacy filter's decision on one candidate, with its reasons (never private text)."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    reasons: list[str] = Field(default_factory=list)
    redactions: dict[str, int] = Field(default_factory=dict)
    max_similarity: float = 0.0


class Lesson(BaseModel):
    """A candidate or published lesson: an instruction, or a synthetic labelled example."""

    model_config = ConfigDict(frozen=True)

    task: str
    kind: LessonKind
    text: str
    input: str | None = None
    output: str | None = None
    answer: str | None = None
    teacher_id: str
    teacher_model: str
    run_id: str
    method: str  # the teaching method (sociallearn.teaching.methods)
    settings: dict[str, str | int | float | bool] = Field(default_factory=dict)
    verdict: Verdict = Field(default_factory=lambda: Verdict(passed=True))
    mean_logprob: float | None = None
    votes: int = 0
    review: Literal["approved", "edited"] | None = None  # a person's decision before publishing
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def content_hash(self) -> str:
        """Hash of what the lesson says (task, kind and text), for de-duplication."""
        digest = hashlib.sha256(f"{self.task}\x1f{self.kind}\x1f{self.text}".encode())
        return digest.hexdigest()[:32]

    @property
    def id(self) -> str:
        """Stable id of this lesson within its run."""
        return f"{self.run_id}:{self.teacher_id}:{self.content_hash[:16]}"


class TeacherDrop(BaseModel):
    """A teacher whose every candidate was rejected R+1 times: the run goes on without it."""

    teacher_id: str
    attempts: int
    reasons: list[str]


class Answer(BaseModel):
    """The student's answer to one query."""

    query: str
    answer: str
    scores: dict[str, float] = Field(default_factory=dict)
