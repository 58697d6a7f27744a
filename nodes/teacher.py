"""Teacher reasoning: the teacher studies its private examples (notes stay in its workspace)."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime

from sociallearn.nodes.state import TeacherState
from sociallearn.teaching.context import Context
from sociallearn.teaching.methods import get_method


def teacher_reasoning(state: TeacherState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Let the teaching method study the teacher's examples; start at attempt 0."""
    context = runtime.context
    workspace = context.resources.workspace(state["run_id"], state["teacher_id"])
    get_method(context.settings.method).reason(workspace)
    return {"attempt": 0, "feedback": []}


def route_after_reasoning(state: TeacherState) -> str:
    """To drafting, unless the teacher's model failed."""
    return END if state.get("model_failed") else "drafting"
