"""Human approval before publishing (with `approve`): approve, edit or reject.

The node interrupts the graph with a `ReviewRequest` (the lessons and the filter's verdicts,
never private data). Resume with `Command(resume=Decision(...))` or a dict of the same shape.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from sociallearn.nodes.state import SocialLearningState
from sociallearn.teaching.context import Context
from sociallearn.teaching.review import Decision, apply_decision, review_request


def review(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pass the lessons through, or ask a person first when the run asks for approval."""
    lessons = state.get("lessons", [])
    if not runtime.context.settings.approve or not lessons:
        return {}
    request = review_request(state["run_id"], lessons, state.get("dropped", []))
    answer = interrupt(request.model_dump(mode="json"))
    decision = answer if isinstance(answer, Decision) else Decision.model_validate(answer)
    return {"lessons": apply_decision(runtime.context.resources.task, lessons, decision)}
