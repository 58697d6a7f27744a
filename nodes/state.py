"""Typed graph states with explicit reducers. They carry teacher ids and lessons only."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from sociallearn.core.schema import Answer, Lesson, TeacherDrop


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
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
    # teacher id → the acceptance check of its refined drafts (`refining.accept`): the
    # student's accuracy with the first and the refined drafts on held-back examples that chose
    # neither, and whether the refined ones were adopted (1.0) or not (0.0).
    acceptance: Annotated[dict[str, dict[str, float]], merge]
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
    model_failed: bool  # the teacher's model failed: it is dropped and its loop ends
    # Refinement (`refine_rounds`): numbers only, the drafts and errors stay in the workspace.
    held_out_accuracy: Annotated[dict[str, list[float]], merge]
    acceptance: Annotated[dict[str, dict[str, float]], merge]
    revised: bool  # a revision waits in the workspace for the next round's check
    candidates: Annotated[list[Lesson], operator.add]
    dropped: Annotated[list[TeacherDrop], operator.add]


class TeacherOutput(TypedDict, total=False):
    candidates: list[Lesson]
    dropped: list[TeacherDrop]
    held_out_accuracy: dict[str, list[float]]
    acceptance: dict[str, dict[str, float]]


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
    acceptance: dict[str, dict[str, float]]
    scores: list[float]
    epsilon: float  # judge: the ε its noisy scores spent (none: exact scores)


class ServiceState(ServiceInput, ServiceOutput, total=False):
    pass
