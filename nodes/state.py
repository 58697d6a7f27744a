"""Typed graph states with explicit reducers. They carry teacher ids and lessons only."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from sociallearn.schema import Answer, Lesson, TeacherDrop


def merge(old: dict[str, list[float]], new: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per-teacher entries: a teacher's new entry replaces its old one."""
    return {**old, **new}


class TeachInput(TypedDict, total=False):
    """What a caller passes in: an optional run id and optional queries for the student."""

    run_id: str
    queries: list[str]


class SocialLearningState(TypedDict, total=False):
    run_id: str
    queries: list[str]
    teacher_ids: list[str]
    services: dict[str, str]  # teacher id → URL of the teacher service teaching as it
    candidates: Annotated[list[Lesson], operator.add]  # lessons that passed the filter
    dropped: Annotated[list[TeacherDrop], operator.add]
    # With `refine_rounds`: teacher id → the student's accuracy on the teacher's held-back
    # examples with the drafts of each refinement round (of the teacher's last attempt).
    held_out_accuracy: Annotated[dict[str, list[float]], merge]
    lessons: list[Lesson]  # the aggregated student prompt
    published: list[str]  # library ids of the published lessons
    answers: list[Answer]


class TeacherInput(TypedDict):
    teacher_id: str
    run_id: str


class TeacherState(TypedDict, total=False):
    teacher_id: str
    run_id: str
    attempt: int
    drafted: int  # drafts waiting in the teacher's private workspace
    feedback: list[str]  # why the filter rejected the last drafts (no private text)
    redraft: bool  # the drafts were lost (restart before filtering): draft the attempt again
    # Refinement (`refine_rounds`): numbers only, the drafts and errors stay in the workspace.
    held_out_accuracy: Annotated[dict[str, list[float]], merge]
    revised: bool  # a revision waits in the workspace for the next round's check
    candidates: Annotated[list[Lesson], operator.add]
    dropped: Annotated[list[TeacherDrop], operator.add]


class TeacherOutput(TypedDict):
    candidates: list[Lesson]
    dropped: list[TeacherDrop]
    held_out_accuracy: dict[str, list[float]]


class ServiceInput(TypedDict, total=False):
    """A request to a teacher service (`graphs/teacher_service.py`): public data only."""

    request: str  # "teach" or "judge"
    teacher_id: str
    run_id: str
    settings: dict[str, Any]  # the run's public settings (`Settings.public`)
    preambles: list[str]  # judge: student prompts built from public lessons


class ServiceOutput(TypedDict, total=False):
    """A teacher service's answer: what passed its filter, drops, numbers."""

    candidates: list[Lesson]
    dropped: list[TeacherDrop]
    held_out_accuracy: dict[str, list[float]]
    scores: list[float]


class ServiceState(ServiceInput, ServiceOutput, total=False):
    pass
