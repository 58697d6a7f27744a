"""Refinement: a teacher checks its drafts with a local copy of the student and revises them.

Each visit is one round (`sociallearn.teaching.refining.refine_round`); only numbers enter the state.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime

from sociallearn.nodes.state import TeacherState
from sociallearn.teaching.context import Context
from sociallearn.teaching.refining import refine_round


def refine(state: TeacherState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check this round's drafts on the teacher's held-back data; revise them or pass the best on."""
    context = runtime.context
    teacher = state["teacher_id"]
    workspace = context.resources.workspace(state["run_id"], teacher)
    if not workspace.drafts and state.get("drafted"):
        # The process restarted between rounds (drafts live in memory only): draft the attempt
        # again, which costs no retry; the rounds start over from the same first drafts.
        return {"attempt": state.get("attempt", 1) - 1, "redraft": True, "revised": False}
    if not workspace.drafts:
        return {"revised": False}  # nothing drafted: the filter records it
    # Round 0 checks the drafting node's drafts; a later round, the revision of the last one.
    accuracies = state.get("held_out_accuracy", {}).get(teacher, []) if state.get("revised") else []
    seed = (context.settings.seed * 1000 + state.get("attempt", 1)) * 100 + len(accuracies) + 1
    result = refine_round(workspace, context.resources.student_model, accuracies, seed)
    return {
        "held_out_accuracy": {teacher: [*accuracies, result.accuracy]},
        **({"acceptance": {teacher: result.acceptance}} if result.acceptance else {}),
        "revised": result.revised,
        "drafted": len(workspace.drafts),
        "redraft": False,
    }


def route_after_refine(state: TeacherState) -> str:
    """Another round while a revision waits; drafting again after lost drafts; else the filter
    (the end when the teacher's model failed)."""
    if state.get("model_failed"):
        return END
    if state.get("redraft"):
        return "drafting"
    return "refine" if state.get("revised") else "privacy_filter"
