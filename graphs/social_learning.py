"""The social-learning graph: m teachers teach in parallel, then aggregate, publish, apply.

START → assign_teachers ─Send×m→ teach (subgraph: reason → draft → filter ↺) →
aggregate → review (optional human approval) → publish → student → END
"""

from __future__ import annotations

import uuid
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from sociallearn.graphs.context import Context
from sociallearn.graphs.state import SocialLearningState, TeachInput
from sociallearn.graphs.teacher import graph as teacher_graph
from sociallearn.nodes.aggregator import aggregate
from sociallearn.nodes.publish import publish
from sociallearn.nodes.review import review
from sociallearn.nodes.student import student_answers


def assign_teachers(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Name the run and its m teachers (ids only: their data stays in their silos)."""
    run_id = state.get("run_id") or uuid.uuid4().hex[:12]
    teacher_ids = [f"teacher-{i}" for i in range(runtime.context.teachers)]
    return {"run_id": run_id, "teacher_ids": teacher_ids}


def fan_out(state: SocialLearningState) -> list[Send]:
    """One teacher subgraph run per teacher, in parallel."""
    return [
        Send("teach", {"teacher_id": teacher_id, "run_id": state["run_id"]})
        for teacher_id in state["teacher_ids"]
    ]


builder = StateGraph(SocialLearningState, context_schema=Context, input_schema=TeachInput)
builder.add_node("assign_teachers", assign_teachers)
builder.add_node("teach", teacher_graph)
builder.add_node("aggregate", aggregate)
builder.add_node("review", review)
builder.add_node("publish", publish)
builder.add_node("student", student_answers)
builder.add_edge(START, "assign_teachers")
builder.add_conditional_edges("assign_teachers", fan_out, ["teach"])
builder.add_edge("teach", "aggregate")
builder.add_edge("aggregate", "review")
builder.add_edge("review", "publish")
builder.add_edge("publish", "student")
builder.add_edge("student", END)

graph = builder.compile(name="social_learning")
