"""Aggregation: the run's aggregator builds the student's prompt from all surviving candidates."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sociallearn.nodes.state import SocialLearningState
from sociallearn.teaching.aggregators import get_aggregator
from sociallearn.teaching.aggregators.base import Ballot
from sociallearn.teaching.context import Context
from sociallearn.teaching.methods import get_method


def aggregate(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Choose the lessons for the student's prompt."""
    settings = runtime.context.settings
    wanted = get_method(settings.method).lessons_wanted(settings)
    ballot = Ballot(runtime.context, state["run_id"], state.get("teacher_ids", []))
    lessons = get_aggregator(settings.aggregator).aggregate(
        state.get("candidates", []), wanted, ballot
    )
    return {"lessons": lessons}
