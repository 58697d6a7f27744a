"""Lesson drafting: the method's drafts go to the teacher's workspace, not to the graph state."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime

from sociallearn.nodes.state import TeacherState
from sociallearn.teaching.context import Context
from sociallearn.teaching.methods import get_method


def draft_lessons(state: TeacherState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Draft this attempt's candidates into the teacher's workspace; report how many."""
    context = runtime.context
    workspace = context.resources.workspace(state["run_id"], state["teacher_id"])
    attempt = state.get("attempt", 0)
    seed = context.settings.seed * 1000 + attempt
    method = get_method(context.settings.method)
    workspace.drafts = method.draft(workspace, state.get("feedback", []), seed)
    return {"attempt": attempt + 1, "drafted": len(workspace.drafts)}


def route_after_drafting(state: TeacherState, runtime: Runtime[Context]) -> str:
    """To the refinement loop when the run refines lessons, else straight to the filter (to the
    end when the teacher's model failed)."""
    if state.get("model_failed"):
        return END
    return "refine" if runtime.context.settings.refine_rounds > 0 else "privacy_filter"
