"""The social-learning graph: m teachers teach in parallel, then aggregate, publish, apply.

START → assign_teachers ─Send×m→ teach (subgraph: reason → draft → filter ↺) ─┐
                       └─Send──→ remote_teach (a teacher service, `RemoteGraph`) ─┴→
aggregate → review (optional human approval) → publish → student → END
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from sociallearn.graphs.teacher import graph as teacher_graph
from sociallearn.nodes.aggregator import aggregate
from sociallearn.nodes.assign import assign_teachers
from sociallearn.nodes.publish import publish
from sociallearn.nodes.remote_teacher import remote_teach
from sociallearn.nodes.review import review
from sociallearn.nodes.state import SocialLearningState, TeachInput
from sociallearn.nodes.student import student_answers
from sociallearn.teaching.context import Context


def fan_out(state: SocialLearningState) -> list[Send]:
    """One teacher subgraph run per local teacher, one request per teacher service, in
    parallel."""
    services = state.get("services", {})
    return [
        Send(
            "remote_teach" if teacher_id in services else "teach",
            {"teacher_id": teacher_id, "run_id": state["run_id"]},
        )
        for teacher_id in state["teacher_ids"]
    ]


builder = StateGraph(SocialLearningState, context_schema=Context, input_schema=TeachInput)
builder.add_node("assign_teachers", assign_teachers)
builder.add_node("teach", teacher_graph)
builder.add_node("remote_teach", remote_teach)
builder.add_node("aggregate", aggregate)
builder.add_node("review", review)
builder.add_node("publish", publish)
builder.add_node("student", student_answers)
builder.add_edge(START, "assign_teachers")
builder.add_conditional_edges("assign_teachers", fan_out, ["teach", "remote_teach"])
builder.add_edge("teach", "aggregate")
builder.add_edge("remote_teach", "aggregate")
builder.add_edge("aggregate", "review")
builder.add_edge("review", "publish")
builder.add_edge("publish", "student")
builder.add_edge("student", END)

graph = builder.compile(name="social_learning")
