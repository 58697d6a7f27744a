"""Teacher reasoning: a teacher studies n private examples and keeps private notes."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sociallearn.graphs.context import Context
from sociallearn.graphs.state import TeacherState
from sociallearn.nodes import prompts
from sociallearn.nodes.resources import silo_of, task_of, teacher_engine
from sociallearn.tasks import Example, Task


def show_examples(task: Task, examples: list[Example]) -> str:
    return prompts.EXAMPLE_SEPARATOR.join(task.format_example(e) for e in examples)


def teacher_reasoning(state: TeacherState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Write the teacher's private notes on its examples (instructions method only)."""
    context = runtime.context
    silo = silo_of(context, state["teacher_id"])
    if context.method == "instructions":
        split_task = task_of(context)
        shots = silo.shots(context.shots, context.seed)
        engine = teacher_engine(context)
        prompt = prompts.TEACHER_NOTES.format(
            description=split_task.description, examples=show_examples(split_task, shots)
        )
        silo.notes[state["run_id"]] = engine.instruct(prompt, max_tokens=160).strip()
    return {"attempt": 0, "feedback": []}
