"""Python entry points: run the graph, and read a run's lessons back for the student."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from sociallearn.graphs.context import Context
from sociallearn.graphs.social_learning import builder
from sociallearn.schema import Lesson
from sociallearn.stores.library import LessonLibrary


def teach(
    context: Context,
    *,
    queries: Sequence[str] = (),
    run_id: str | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    thread_id: str | None = None,
    on_update: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the social-learning graph once; returns its final state.

    With a `checkpointer`, the run is resumable: call again with the same `thread_id`.
    `on_update(node, update)` is called as each node finishes (streamed).
    """
    graph = builder.compile(checkpointer=checkpointer)
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id or run_id or "default"}}
    payload: dict[str, Any] | None = {"queries": list(queries)}
    if run_id and payload is not None:
        payload["run_id"] = run_id
    if checkpointer is not None and graph.get_state(config).next:
        payload = None  # an interrupted run with this thread id: resume it
    final: dict[str, Any] = {}
    for mode, chunk in graph.stream(
        payload, config=config, context=context, stream_mode=["updates", "values"]  # type: ignore[arg-type]
    ):
        if mode == "values":
            final = dict(chunk)
        elif on_update is not None:
            for node, update in chunk.items():
                on_update(node, update if isinstance(update, dict) else {})
    return final


def latest_lessons(library: LessonLibrary, task: str, run_id: str | None = None) -> list[Lesson]:
    """The published lessons of `run_id`, or of the task's most recent run."""
    runs = library.runs(task)
    if run_id is None:
        if not runs:
            return []
        run_id = runs[-1]
    return library.list(task=task, run_id=run_id)
