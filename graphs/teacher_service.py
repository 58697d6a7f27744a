"""The teacher service's graph, served by LangGraph's server next to one owner's data.

START ─request─→ teach (the teacher subgraph on the owner's silo, model and filter) → END
             └─→ judge (scores of public lessons on the owner's held-back examples) → END

Its input is public (the run's public settings, a teacher id, lessons to judge); its output is
what passed the filter (and, with the owner's review, what the owner approved), drops and
numbers. While lessons wait for the owner, teach streams a custom event {"pending_review": n}. `sociallearn serve-teacher` starts it; the
coordinator calls it through `RemoteGraph` (`sociallearn.teaching.remote`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

from sociallearn.graphs.teacher import graph as teacher_graph
from sociallearn.nodes.state import ServiceInput, ServiceOutput, ServiceState
from sociallearn.teaching.context import Context
from sociallearn.teaching.service import ANYONE, current_service


def route(state: ServiceState) -> str:
    return "judge" if state.get("request") == "judge" else "teach"


def caller(config: RunnableConfig) -> str:
    """The coordinator the server authenticated (`sociallearn.teaching.service_auth`)."""
    return str(config.get("configurable", {}).get("langgraph_auth_user_id") or ANYONE)


def teach(state: ServiceState, config: RunnableConfig) -> dict[str, Any]:
    """The teacher subgraph, run on this service's resources; the coordinator is told when
    lessons wait for the owner's review."""
    teacher_id, run_id = state["teacher_id"], state["run_id"]
    writer = get_stream_writer()

    def run_teacher(context: Context) -> dict[str, Any]:
        return teacher_graph.invoke(
            {"teacher_id": teacher_id, "run_id": run_id},
            context=context,
            config={"recursion_limit": context.settings.step_limit()},
        )

    settings = state.get("settings", {})
    return current_service().teach(
        teacher_id, run_id, settings, run_teacher, caller(config),
        on_pending=lambda waiting: writer({"pending_review": waiting}),
    )  # fmt: skip


def judge(state: ServiceState, config: RunnableConfig) -> dict[str, Any]:
    return current_service().judge(
        state["teacher_id"], state.get("settings", {}), state.get("preambles", []), caller(config)
    )


builder = StateGraph(ServiceState, input_schema=ServiceInput, output_schema=ServiceOutput)
builder.add_node("teach", teach)
builder.add_node("judge", judge)
builder.add_conditional_edges(START, route, ["teach", "judge"])
builder.add_edge("teach", END)
builder.add_edge("judge", END)

graph = builder.compile(name="teacher_service")
