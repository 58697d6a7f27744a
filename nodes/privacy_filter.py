"""Privacy filter: only candidates that pass it leave the teacher and enter the graph state.

With `Context.privacy.enabled` off (a measurement baseline), every draft passes unchanged and its
verdict says "filter disabled" with what the filter would have rejected it for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime

from sociallearn.graphs.context import Context
from sociallearn.graphs.state import TeacherState
from sociallearn.nodes.drafting import Draft
from sociallearn.nodes.resources import settings_of, silo_of, task_of
from sociallearn.privacy.filter import check
from sociallearn.schema import Lesson, TeacherDrop
from sociallearn.tasks import Task


def privacy_filter(state: TeacherState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Check every draft; pass the clean ones on, or record why all were rejected."""
    context = runtime.context
    silo = silo_of(context, state["teacher_id"])
    drafts: list[Draft] = silo.drafts.pop(state["run_id"], [])
    if not drafts and state.get("drafted"):
        # The process restarted between drafting and filtering (drafts live in memory only):
        # draft the same attempt again, which costs no retry and gives the same drafts.
        return {"attempt": state.get("attempt", 1) - 1, "redraft": True}
    if not drafts:
        return _rejected(state, context, ["no usable draft"])
    settings = context.privacy
    if context.canary and settings.planted_canary:
        settings = replace(settings, canaries=(*settings.canaries, context.canary))
    private = silo.private_texts()
    task = task_of(context)
    accepted: list[Lesson] = []
    reasons: Counter[str] = Counter()
    for draft in drafts:
        shared = draft.example.input if draft.example else draft.text
        verdict, clean = check(shared, private, settings)
        if not verdict.passed:
            reasons.update(r.split(":")[0] for r in verdict.reasons)
            continue
        accepted.append(_lesson(draft, clean, verdict, state, context, task))
    if accepted:
        return {"candidates": accepted, "feedback": [], "redraft": False}
    return _rejected(state, context, [f"{kind} ×{n}" for kind, n in reasons.most_common()])


def route_after_filter(state: TeacherState, runtime: Runtime[Context]) -> str:
    """Redraft after lost drafts, or while the filter rejected everything and retries remain."""
    if state.get("redraft"):
        return "drafting"
    if state.get("feedback") and state.get("attempt", 0) <= runtime.context.max_retries:
        return "drafting"
    return END


def _rejected(state: TeacherState, context: Context, reasons: list[str]) -> dict[str, Any]:
    attempt = state.get("attempt", 0)
    if attempt <= context.max_retries:
        return {"feedback": reasons, "redraft": False}
    drop = TeacherDrop(teacher_id=state["teacher_id"], attempts=attempt, reasons=reasons)
    return {"feedback": [], "dropped": [drop], "redraft": False}


def _lesson(
    draft: Draft, clean: str, verdict: Any, state: TeacherState, context: Context, task: Task
) -> Lesson:
    common = {
        "task": context.task,
        "teacher_id": state["teacher_id"],
        "teacher_model": context.teacher_model,
        "run_id": state["run_id"],
        "method": context.method,
        "settings": settings_of(context),
        "verdict": verdict,
        "mean_logprob": draft.mean_logprob,
    }
    if draft.example is None:
        return Lesson(kind="instruction", text=clean, **common)
    example = draft.example.model_copy(update={"input": clean})
    return Lesson(
        kind="example",
        text=task.format_example(example),
        input=example.input,
        output=example.output,
        answer=example.answer,
        **common,
    )
