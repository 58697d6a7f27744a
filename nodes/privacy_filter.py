"""Privacy filter: only candidates that pass it leave the teacher and enter the graph state."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime

from sociallearn.core.schema import TeacherDrop
from sociallearn.nodes.state import TeacherState
from sociallearn.teaching.context import Context
from sociallearn.teaching.sharing import filter_drafts


def privacy_filter(state: TeacherState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check every draft; pass the clean ones on, or record why all were rejected."""
    context = runtime.context
    workspace = context.resources.workspace(state["run_id"], state["teacher_id"])
    drafts, workspace.drafts = workspace.drafts, []
    if not drafts and state.get("drafted"):
        # The process restarted between drafting and filtering (drafts live in memory only):
        # draft the same attempt again, which costs no retry and gives the same drafts.
        return {"attempt": state.get("attempt", 1) - 1, "redraft": True}
    if not drafts:
        return _rejected(state, context, ["no usable draft"])
    accepted, reasons = filter_drafts(workspace, drafts, state["run_id"])
    if accepted:
        return {"candidates": accepted, "feedback": [], "redraft": False}
    return _rejected(state, context, [f"{kind} ×{n}" for kind, n in reasons.most_common()])


def route_after_filter(state: TeacherState, runtime: Runtime[Context]) -> str:
    """Redraft after lost drafts, or while the filter rejected everything and retries remain
    (not after the teacher's model failed)."""
    if state.get("model_failed"):
        return END
    if state.get("redraft"):
        return "drafting"
    if state.get("feedback") and state.get("attempt", 0) <= runtime.context.settings.max_retries:
        return "drafting"
    return END


def _rejected(state: TeacherState, context: Context, reasons: list[str]) -> dict[str, Any]:
    attempt = state.get("attempt", 0)
    if attempt <= context.settings.max_retries:
        return {"feedback": reasons, "redraft": False}
    drop = TeacherDrop(teacher_id=state["teacher_id"], attempts=attempt, reasons=reasons)
    return {"feedback": [], "dropped": [drop], "redraft": False}
