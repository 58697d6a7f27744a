"""Assign teachers: name the run and its m teachers (ids only: their data stays in their silos)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sociallearn.nodes.state import SocialLearningState
from sociallearn.teaching.context import Context


def assign_teachers(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The run id (by default the settings' key: same settings and seed, same run) and teachers:
    m local ones, then the teacher services."""
    resources = runtime.context.resources
    run_id = state.get("run_id") or runtime.context.settings.run_key()
    services = {teacher: remote.url for teacher, remote in resources.remote_teachers.items()}
    return {"run_id": run_id, "teacher_ids": resources.teacher_ids(), "services": services}
