"""Publish: write the aggregated lessons to the lesson library."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sociallearn.graphs.context import Context
from sociallearn.graphs.state import SocialLearningState
from sociallearn.nodes.resources import library_of


def publish(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Store the chosen lessons; `published` holds the ids their content is kept under.

    A lesson already in the library (a resumed run) is not written twice; one repeating an
    earlier lesson's content is recorded as a duplicate and points to the earlier id.
    """
    lessons = state.get("lessons", [])
    results = library_of(runtime.context).publish(lessons)
    return {"published": [result.stored_as for result in results]}
