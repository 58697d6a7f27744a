"""Publish: write the aggregated lessons to the lesson library."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sociallearn.context import Context
from sociallearn.nodes.state import SocialLearningState


def publish(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Store the chosen lessons; `published` holds the ids their content is kept under.

    A lesson already in the library (a resumed run) is not written twice; one repeating an
    earlier lesson's content is recorded as a duplicate and points to the earlier id.
    """
    results = runtime.context.resources.library.publish(state.get("lessons", []))
    return {"published": [result.stored_as for result in results]}
