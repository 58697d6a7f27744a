"""Teach runs that survive restarts and wait for a person: SQLite checkpoints and approval."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table

from sociallearn.apps.run import context_for, teach
from sociallearn.core.schema import Answer, Lesson, TeacherDrop, Verdict
from sociallearn.engine.pool import ModelPool
from sociallearn.teaching.review import Decision, LessonForReview, ReviewRequest
from sociallearn.teaching.settings import Settings

# The project's own types that checkpoints hold; nothing else is rebuilt from a checkpoint
# beyond LangGraph's built-in safe types.
CHECKPOINT_TYPES = (Lesson, Verdict, TeacherDrop, Answer, ReviewRequest, LessonForReview, Decision)


def checkpoint_serializer() -> JsonPlusSerializer:
    """LangGraph's serializer, allowed to rebuild exactly `CHECKPOINT_TYPES`."""
    return JsonPlusSerializer(
        allowed_msgpack_modules=[(kind.__module__, kind.__name__) for kind in CHECKPOINT_TYPES]
    )


@contextmanager
def checkpointer(path: str | Path | None, *, needed: bool) -> Iterator[BaseCheckpointSaver | None]:
    """A SQLite checkpointer on `path`; in memory when none is given but one is needed."""
    if path is None:
        yield InMemorySaver(serde=checkpoint_serializer()) if needed else None
        return
    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(Path(path).expanduser(), check_same_thread=False)
    try:
        yield SqliteSaver(connection, serde=checkpoint_serializer())
    finally:
        connection.close()


def teach_until_done(
    settings: Settings,
    *,
    models: ModelPool | None = None,
    decide: Callable[[ReviewRequest], Decision],
    run_id: str | None = None,
    checkpoint: str | Path | None = None,
    thread_id: str | None = None,
    on_update: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a teach thread, asking `decide` at each approval interrupt.

    A thread that already finished is not taught again: its final state comes back with
    "finished_before" set.
    """
    thread = thread_id or run_id or settings.run_key()
    options: dict[str, Any] = {"thread_id": thread, "on_update": on_update, "subgraphs": True}
    context = context_for(settings, models)
    with checkpointer(checkpoint, needed=settings.approve) as saver:
        state = teach(context, run_id=run_id, checkpointer=saver, **options)
        while "__interrupt__" in state:
            request = ReviewRequest.model_validate(state["__interrupt__"][0])
            state = teach(context, checkpointer=saver, resume=decide(request), **options)
    state["thread_id"] = thread
    return state


def ask_in_terminal(console: Console) -> Callable[[ReviewRequest], Decision]:
    """A `decide` that shows the lessons and their verdicts and asks on standard input."""

    def decide(request: ReviewRequest) -> Decision:
        table = Table("#", "kind", "teacher", "verdict", "text", title=f"run {request.run_id}")
        for number, lesson in enumerate(request.lessons, start=1):
            verdict = "passed" if lesson.verdict.passed else "; ".join(lesson.verdict.reasons)
            if lesson.verdict.redactions:
                verdict += " (redacted " + ", ".join(lesson.verdict.redactions) + ")"
            table.add_row(str(number), lesson.kind, lesson.teacher_id, verdict, lesson.text)
        console.print(table)
        if request.dropped_teachers:
            console.print(f"dropped teachers: {', '.join(request.dropped_teachers)}")
        action = Prompt.ask(
            "publish these lessons?", choices=["approve", "edit", "reject"], console=console
        )
        edits: dict[str, str] = {}
        while action == "edit":
            choice = Prompt.ask("lesson # to edit (empty: done)", default="", console=console)
            if not choice:
                break
            if not choice.isdigit() or not 1 <= int(choice) <= len(request.lessons):
                console.print(f"[red]choose 1..{len(request.lessons)}[/red]")
                continue
            lesson = request.lessons[int(choice) - 1]
            text = Prompt.ask("new text (\\n for a new line)", console=console)
            edits[lesson.id] = text.replace("\\n", "\n")
        return Decision.model_validate({"action": action, "edits": edits})

    return decide
