"""A teacher whose model fails is dropped, as a teacher service that fails is.

A served model's server that is down, too slow or failing, or a model without an operation the
method needs, ends the teacher's loop with a drop that gives the reason (the URL, the
operation); the run goes on with the other teachers. Nothing the teacher drafted leaves it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sociallearn.core.lm import MissingOperation, ModelUnavailable
from sociallearn.core.schema import TeacherDrop
from sociallearn.nodes.state import TeacherState

MODEL_FAILURES = (ModelUnavailable, MissingOperation)

TeacherNode = Callable[..., dict[str, Any]]


def dropped_on_model_failure(node: TeacherNode) -> TeacherNode:
    """`node`, answering a model failure with the teacher's drop and `model_failed`, which
    sends the teacher's loop to its end."""

    @functools.wraps(node)
    def guarded(state: TeacherState, **injected: Any) -> dict[str, Any]:
        try:
            return node(state, **injected)
        except MODEL_FAILURES as exc:
            drop = TeacherDrop(
                teacher_id=state["teacher_id"],
                attempts=state.get("attempt", 0),
                reasons=[str(exc)],
            )
            return {"dropped": [drop], "model_failed": True, "feedback": [], "redraft": False}

    return guarded
