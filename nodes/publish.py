"""Publish: write the aggregated lessons to the lesson library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from sociallearn.nodes.state import SocialLearningState
from sociallearn.stores.library import LessonLibrary
from sociallearn.teaching.context import Context

UNPUBLISHED = Path(".sociallearn") / "unpublished"  # lessons kept when publishing fails


def publish(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Store the chosen lessons; `published` holds the ids their content is kept under.

    A lesson already in the library (a resumed run) is not written twice; one repeating an
    earlier lesson's content is recorded as a duplicate and points to the earlier id.
    """
    lessons = state.get("lessons", [])
    try:
        results = runtime.context.resources.library.publish(lessons)
    except (OSError, ValueError, RuntimeError) as exc:
        kept = LessonLibrary.spill(lessons, UNPUBLISHED)
        raise RuntimeError(
            f"publishing to {runtime.context.settings.library} failed ({exc}); the "
            f"{len(lessons)} lessons are kept in {kept}: `sociallearn lessons import {kept}`"
        ) from exc
    return {"published": [result.stored_as for result in results]}
