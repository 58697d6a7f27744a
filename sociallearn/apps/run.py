"""Python entry points: run the graph, and read a run's lessons back for the student."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import BaseModel

from sociallearn.core.schema import Lesson
from sociallearn.engine.pool import ModelPool
from sociallearn.graphs.social_learning import builder
from sociallearn.stores.library import LessonLibrary
from sociallearn.teaching.context import Context
from sociallearn.teaching.methods import get_method
from sociallearn.teaching.registries import check_registered
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.roles import check_likelihoods
from sociallearn.teaching.settings import Settings


def context_for(settings: Settings, models: ModelPool | None = None) -> Context:
    """A run's context: the settings, and resources opened from them on `models`."""
    return Context(settings=settings, resources=Resources(settings, models=models))


def teach(
    run: Settings | Context,
    *,
    models: ModelPool | None = None,
    queries: Sequence[str] = (),
    run_id: str | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    thread_id: str | None = None,
    on_update: Callable[[str, dict[str, Any]], None] | None = None,
    resume: Any = None,
    subgraphs: bool = False,
) -> dict[str, Any]:
    """Run the social-learning graph once with `run`'s settings; returns its final state.

    A `Settings` gets fresh resources, with models from `models` when given (a caller that
    teaches many runs shares one pool); a `Context` brings its own.

    With a `checkpointer`, the run is resumable: call again with the same `thread_id` (after a
    crash, it goes on from the last checkpoint). A thread that already finished is not taught
    again (its lists of candidates would add up): its final state comes back with
    "finished_before" set; delete the thread to teach afresh. `on_update(node, update)` is
    called as each node finishes (streamed); with `subgraphs`, teachers' inner nodes too, named
    "teacher-0/drafting". With `Context.approve`, the run stops before publishing and the
    returned state has "__interrupt__": [review request]; call again with `resume` (a
    `sociallearn.teaching.review.Decision` or its dict) to go on, as `Command(resume=...)` does.
    """
    check_registered(run.settings if isinstance(run, Context) else run)
    context = run if isinstance(run, Context) else context_for(run, models)
    if not get_method(context.settings.method).teaches:
        raise ValueError(f"{context.settings.method} is a baseline: it teaches nothing")
    context.resources.split  # noqa: B018  # bad data fails here, before any teaching
    context.resources.library.check_writable()  # and a library that cannot take the lessons
    # and a model that cannot give the likelihoods its role needs
    check_likelihoods(context.resources, student_answers=bool(queries))
    if context.settings.approve and checkpointer is None:
        raise ValueError("approval before publishing needs a checkpointer to resume from")
    graph = builder.compile(checkpointer=checkpointer)
    config: dict[str, Any] = {
        "configurable": {"thread_id": thread_id or run_id or "default"},
        "recursion_limit": context.settings.step_limit(),
    }
    payload: dict[str, Any] | Command | None = {"queries": list(queries)}
    if run_id and isinstance(payload, dict):
        payload["run_id"] = run_id
    if resume is not None:
        value = resume.model_dump() if isinstance(resume, BaseModel) else resume
        payload = Command(resume=value)
    elif checkpointer is not None:
        saved = graph.get_state(config)
        if saved.next:
            payload = None  # an interrupted run with this thread id: resume it
        elif saved.values:
            return {**saved.values, "finished_before": True}
    final: dict[str, Any] = {}
    interrupts: list[Any] = []
    teachers: dict[tuple[str, ...], str] = {}
    for namespace, mode, chunk in graph.stream(
        payload,
        config=config,
        context=context,
        stream_mode=["updates", "values", "tasks"],
        subgraphs=True,
        durability="sync" if checkpointer is not None else None,
    ):
        if mode == "tasks":
            task_input = chunk.get("input")
            if not namespace and isinstance(task_input, dict) and "teacher_id" in task_input:
                teachers[(f"{chunk['name']}:{chunk['id']}",)] = task_input["teacher_id"]
            continue
        if mode == "values":
            if not namespace:
                final = dict(chunk)
            continue
        for node, update in chunk.items():
            if node == "__interrupt__":
                interrupts += [item.value for item in update]
            elif on_update is not None and (subgraphs or not namespace):
                name = f"{teachers.get(namespace, namespace[-1])}/{node}" if namespace else node
                on_update(name, update if isinstance(update, dict) else {})
    if interrupts:
        final["__interrupt__"] = interrupts
    return final


def latest_lessons(library: LessonLibrary, task: str, run_id: str | None = None) -> list[Lesson]:
    """The published lessons of `run_id`, or of the task's most recent run."""
    runs = library.runs(task)
    if run_id is None:
        if not runs:
            return []
        run_id = runs[-1]
    return library.list(task=task, run_id=run_id)
