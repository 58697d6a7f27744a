"""Publish: write the aggregated lessons to the lesson library."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sociallearn.graphs.context import Context
from sociallearn.graphs.state import SocialLearningState
from sociallearn.nodes.resources import library_of


def publish(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Store the chosen lessons; the ids are what the student reads back."""
    lessons = state.get("lessons", [])
    library_of(runtime.context).add(lessons)
    return {"published": [lesson.id for lesson in lessons]}
