"""A teacher on another machine: its service teaches; a service that fails is dropped."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sociallearn.core.schema import TeacherDrop
from sociallearn.nodes.state import TeacherInput
from sociallearn.teaching.context import Context
from sociallearn.teaching.remote import TeacherServiceError


def remote_teach(state: TeacherInput, runtime: Runtime[Context]) -> dict[str, Any]:
    """The service's filtered lessons; an unreachable, failing or slow service is recorded as
    dropped with the reason, and the run goes on with the other teachers."""
    context = runtime.context
    teacher = state["teacher_id"]
    remote = context.resources.remote_teachers[teacher]
    try:
        return remote.teach(teacher, state["run_id"], context.settings)
    except TeacherServiceError as exc:
        return {"dropped": [TeacherDrop(teacher_id=teacher, attempts=0, reasons=[str(exc)])]}
