"""Resuming after a crash, human approval, streaming and retrieval, with a fake engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.runtime import Runtime
from langgraph.types import Command
from small_context import small_context

from sociallearn.apps.run import teach
from sociallearn.core.lm import LanguageModel, ScriptedLM
from sociallearn.graphs.social_learning import builder
from sociallearn.nodes.privacy_filter import privacy_filter, route_after_filter
from sociallearn.stores.library import LessonLibrary
from sociallearn.teaching.context import Context
from sociallearn.teaching.review import Decision


def offer(prompt: str, n: int) -> str:
    return f" Offer number {n}: you have won a voucher, reply WIN now\nLabel: spam"


def context(
    sms_file: Path, tmp_path: Path, model: LanguageModel | None = None, **overrides: object
) -> Context:
    return small_context(sms_file, tmp_path, model or ScriptedLM(offer), **overrides)


def test_lost_drafts_are_redrafted_without_using_a_retry(sms_file, tmp_path):
    ctx = context(sms_file, tmp_path, max_retries=2)
    state = {"teacher_id": "teacher-0", "run_id": "r1", "attempt": 3, "drafted": 2}
    update = privacy_filter(state, Runtime(context=ctx))  # type: ignore[arg-type]
    assert update == {"attempt": 2, "redraft": True}
    assert route_after_filter({**state, **update}, Runtime(context=ctx)) == "drafting"  # type: ignore[arg-type]


def test_a_crashed_run_resumes_without_losing_or_repeating_lessons(sms_file, tmp_path, scripted):
    calls = {"n": 0}

    def crash_once(prompt: str, n: int) -> str:
        calls["n"] += 1
        if calls["n"] == 3:  # teacher 0 has drafted, teacher 1 is mid-way
            raise RuntimeError("simulated crash")
        return offer(prompt, calls["n"])

    model = scripted(crash_once)
    ctx = context(sms_file, tmp_path, model)
    saver = InMemorySaver()
    with pytest.raises(RuntimeError, match="simulated crash"):
        teach(ctx, checkpointer=saver, thread_id="t", run_id="r1")
    restarted = context(sms_file, tmp_path, model)  # a new process: new workspaces
    state = teach(restarted, checkpointer=saver, thread_id="t")
    assert {lesson.teacher_id for lesson in state["candidates"]} == {"teacher-0", "teacher-1"}
    assert len(state["published"]) == len(set(state["published"])) == 4
    library = LessonLibrary.open(ctx.settings.library)
    assert sorted(lesson.id for lesson in library.list(run_id="r1")) == sorted(state["published"])


def test_a_finished_thread_is_not_taught_again_until_deleted(sms_file, tmp_path, scripted):
    """Teaching on a finished thread used to start a second run whose candidates added up with
    the first's; now the finished state comes back, and deleting the thread teaches afresh."""
    calls = {"n": 0}

    def count(prompt: str, n: int) -> str:
        calls["n"] += 1
        return offer(prompt, calls["n"])

    ctx = context(sms_file, tmp_path, scripted(count))
    saver = InMemorySaver()
    first = teach(ctx, checkpointer=saver, thread_id="t", run_id="r1")
    drafted = calls["n"]
    again = teach(context(sms_file, tmp_path, scripted(count)), checkpointer=saver, thread_id="t")
    assert again["finished_before"] and calls["n"] == drafted
    assert again["candidates"] == first["candidates"] and again["published"] == first["published"]
    saver.delete_thread("t")
    fresh = teach(context(sms_file, tmp_path, scripted(count)), checkpointer=saver, thread_id="t")
    assert calls["n"] > drafted and "finished_before" not in fresh
    assert len(fresh["candidates"]) == len(first["candidates"])


def test_approval_interrupts_before_publishing_then_edits(sms_file, tmp_path, scripted):
    ctx = context(sms_file, tmp_path, scripted(offer), approve=True)
    saver = InMemorySaver()
    paused = teach(ctx, checkpointer=saver, thread_id="review", run_id="r2")
    [request] = paused["__interrupt__"]
    assert len(request["lessons"]) == 4 and all(x["verdict"]["passed"] for x in request["lessons"])
    library = LessonLibrary.open(ctx.settings.library)
    assert library.count() == 0  # nothing published while waiting
    target = request["lessons"][0]["id"]
    new_text = "Message: Claim your free prize now by texting WIN\nLabel: spam"
    done = teach(
        ctx,
        checkpointer=saver,
        thread_id="review",
        resume=Decision(action="edit", edits={target: new_text}),
    )
    assert "__interrupt__" not in done
    published = library.get(done["published"])
    assert [x.review for x in published].count("edited") == 1
    assert [x.review for x in published].count("approved") == 3
    assert new_text in {x.text for x in published} and target not in done["published"]


def test_rejecting_publishes_nothing(sms_file, tmp_path, scripted):
    ctx = context(sms_file, tmp_path, scripted(offer), approve=True)
    saver = InMemorySaver()
    teach(ctx, checkpointer=saver, thread_id="review")
    graph = builder.compile(checkpointer=saver)  # as a notebook user resumes
    config = {"configurable": {"thread_id": "review"}}
    final = graph.invoke(Command(resume={"action": "reject"}), config, context=ctx)  # type: ignore[arg-type]
    assert final["published"] == [] and LessonLibrary.open(ctx.settings.library).count() == 0


def test_approval_needs_a_checkpointer(sms_file, tmp_path):
    with pytest.raises(ValueError, match="checkpointer"):
        teach(context(sms_file, tmp_path, approve=True))


def test_streams_teacher_nodes_by_name(sms_file, tmp_path, scripted):
    seen: list[str] = []
    teach(
        context(sms_file, tmp_path, scripted(offer)),
        subgraphs=True,
        on_update=lambda node, _: seen.append(node),
    )
    for teacher in ("teacher-0", "teacher-1"):
        assert [n for n in seen if n.startswith(teacher)] == [
            f"{teacher}/teacher_reasoning",
            f"{teacher}/drafting",
            f"{teacher}/privacy_filter",
        ]
    assert seen[-4:] == ["aggregate", "review", "publish", "student"]


def test_student_retrieves_the_nearest_lessons_per_query(sms_file, tmp_path, scripted):
    engine = scripted(offer)
    prefixes: list[str] = []
    score = engine.score

    def recording(prefix, continuations):
        prefixes.append(prefix)
        return score(prefix, continuations)

    engine.score = recording  # type: ignore[method-assign]
    ctx = context(sms_file, tmp_path, engine, retrieve=1)
    teach(ctx)  # fills the library
    prefixes.clear()
    queries = ["Offer number 3: you have won", "are we meeting for lunch"]
    state = teach(ctx, queries=queries)
    asked = list(  # each prompt once, scored for every label
        dict.fromkeys(
            p for p in prefixes if p.endswith(tuple(f"Message: {q}\nLabel:" for q in queries))
        )
    )
    assert len(asked) == 2
    assert all(p.count("Label: spam") == 1 for p in asked)  # one retrieved lesson each
    assert "Offer number 3:" in asked[0].split("Message: Offer number 3: you have won\n")[0]
    assert [a.query for a in state["answers"]] == queries


def test_cli_asks_before_publishing(sms_file, tmp_path, scripted_cli, monkeypatch):
    import io

    from sociallearn.apps.cli import main

    scripted_cli(offer)
    library = tmp_path / "library"
    args = [
        "teach", "--data", str(sms_file), "--library", str(library), "--test-size", "4",
        "--teachers", "2", "--shots", "4", "--samples", "2", "--keep", "2", "--lessons", "4",
        "--approve", "--checkpoint", str(tmp_path / "runs.sqlite"),
    ]  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO("reject\n"))
    assert main([*args, "--thread-id", "first"]) == 0
    assert LessonLibrary.open(library).count() == 0
    edit = "edit\n2\nMessage: Text WIN for a free prize\\nLabel: spam\n\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(edit))
    assert main([*args, "--thread-id", "second"]) == 0
    stored = LessonLibrary.open(library).list()
    assert len(stored) == 4
    assert [lesson.review for lesson in stored].count("edited") == 1
    assert "Message: Text WIN for a free prize\nLabel: spam" in {lesson.text for lesson in stored}


def test_a_failed_publish_keeps_the_lessons_for_import(sms_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ctx = context(sms_file, tmp_path)
    library = ctx.resources.library

    def broken(lessons: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(library, "publish", broken)
    with pytest.raises(RuntimeError, match="disk full") as failure:
        teach(ctx)
    [kept] = (tmp_path / ".sociallearn" / "unpublished").glob("*.jsonl")
    assert str(kept.name) in str(failure.value)
    monkeypatch.undo()
    assert [result.status for result in library.import_jsonl(kept)] == ["new"] * 4
