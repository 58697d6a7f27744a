"""Human approval before publishing (with `Context.approve`): approve, edit or reject.

The node interrupts the graph with a `ReviewRequest` (the lessons and the filter's verdicts,
never private data). Resume with `Command(resume=Decision(...))` or a dict of the same shape.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt
from pydantic import BaseModel, Field

from sociallearn.graphs.context import Context
from sociallearn.graphs.state import SocialLearningState
from sociallearn.nodes.resources import task_of
from sociallearn.schema import Lesson, Verdict
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


def review(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pass the lessons through, or ask a person first when the run asks for approval."""
    lessons = state.get("lessons", [])
    if not runtime.context.approve or not lessons:
        return {}
    request = ReviewRequest(
        run_id=state["run_id"],
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
        dropped_teachers=[drop.teacher_id for drop in state.get("dropped", [])],
    )
    answer = interrupt(request.model_dump(mode="json"))
    decision = answer if isinstance(answer, Decision) else Decision.model_validate(answer)
    if decision.action == "reject":
        return {"lessons": []}
    unknown = set(decision.edits) - {lesson.id for lesson in lessons}
    if unknown:
        raise ValueError(f"edits name lessons not under review: {sorted(unknown)}")
    task = task_of(runtime.context)
    return {
        "lessons": [
            edited(task, lesson, decision.edits[lesson.id])
            if lesson.id in decision.edits
            else lesson.model_copy(update={"review": "approved"})
            for lesson in lessons
        ]
    }


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
