"""One teacher's private loop: reason → draft (→ refine ↺) → filter, redrafting after a full
rejection. With `refine_rounds`, the drafts are checked and revised before the filter sees them.
A teacher whose model fails is dropped and its loop ends (`model_failure`)."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from sociallearn.nodes.drafting import draft_lessons, route_after_drafting
from sociallearn.nodes.model_failure import dropped_on_model_failure
from sociallearn.nodes.privacy_filter import privacy_filter, route_after_filter
from sociallearn.nodes.refine import refine, route_after_refine
from sociallearn.nodes.state import TeacherInput, TeacherOutput, TeacherState
from sociallearn.nodes.teacher import route_after_reasoning, teacher_reasoning
from sociallearn.teaching.context import Context

builder = StateGraph(
    TeacherState, context_schema=Context, input_schema=TeacherInput, output_schema=TeacherOutput
)
builder.add_node("teacher_reasoning", dropped_on_model_failure(teacher_reasoning))
builder.add_node("drafting", dropped_on_model_failure(draft_lessons))
builder.add_node("refine", dropped_on_model_failure(refine))
builder.add_node("privacy_filter", dropped_on_model_failure(privacy_filter))
builder.add_edge(START, "teacher_reasoning")
builder.add_conditional_edges("teacher_reasoning", route_after_reasoning, ["drafting", END])
builder.add_conditional_edges("drafting", route_after_drafting, ["refine", "privacy_filter", END])
builder.add_conditional_edges(
    "refine", route_after_refine, ["refine", "drafting", "privacy_filter", END]
)
builder.add_conditional_edges("privacy_filter", route_after_filter, ["drafting", END])

graph = builder.compile(name="teacher")
