"""A person's review before publishing: what they see, what they decide, and its effect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from sociallearn.core.schema import Lesson, TeacherDrop, Verdict
from sociallearn.tasks import Task


class LessonForReview(BaseModel):
    id: str
    kind: str
    teacher_id: str
    text: str
    verdict: Verdict


class ReviewRequest(BaseModel):
    """What the person sees: the lessons about to be published, with their verdicts."""

    run_id: str
    lessons: list[LessonForReview]
    dropped_teachers: list[str]


class Decision(BaseModel):
    """The person's answer. `edit` replaces the text of the lessons named in `edits` by id."""

    action: Literal["approve", "edit", "reject"]
    edits: dict[str, str] = Field(default_factory=dict)


def review_request(
    run_id: str, lessons: Sequence[Lesson], dropped: Sequence[TeacherDrop]
) -> ReviewRequest:
    """The request shown for these lessons (never private data: lessons passed the filter)."""
    return ReviewRequest(
        run_id=run_id,
        lessons=[
            LessonForReview(
                id=lesson.id,
                kind=lesson.kind,
                teacher_id=lesson.teacher_id,
                text=lesson.text,
                verdict=lesson.verdict,
            )
            for lesson in lessons
        ],
        dropped_teachers=[drop.teacher_id for drop in dropped],
    )


def apply_decision(task: Task, lessons: Sequence[Lesson], decision: Decision) -> list[Lesson]:
    """The lessons to publish after the person's decision."""
    if decision.action == "reject":
        return []
    unknown = set(decision.edits) - {lesson.id for lesson in lessons}
    if unknown:
        raise ValueError(f"edits name lessons not under review: {sorted(unknown)}")
    return [
        edited(task, lesson, decision.edits[lesson.id])
        if lesson.id in decision.edits
        else lesson.model_copy(update={"review": "approved"})
        for lesson in lessons
    ]


def edited(task: Task, lesson: Lesson, text: str) -> Lesson:
    """The lesson with the person's text (an example must still read '<input>\\n<Label>: <x>')."""
    update: dict[str, Any] = {"text": text.strip(), "review": "edited"}
    if lesson.kind == "example":
        body = text.strip().removeprefix(f"{task.input_field}:")
        example = task.parse_generated(body)
        if example is None:
            raise ValueError(
                f"edited example for lesson {lesson.id} must read "
                f"'{task.input_field}: ...' then '{task.output_field}: <answer>' on its own line"
            )
        update |= {
            "text": task.format_example(example),
            "input": example.input,
            "output": example.output,
            "answer": example.answer,
        }
    return lesson.model_copy(update=update)
