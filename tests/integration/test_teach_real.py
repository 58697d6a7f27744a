"""End to end on the embedded model, real data and a real Chroma folder."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.checkpoint.sqlite import SqliteSaver

from sociallearn.apps.presets import default_preset
from sociallearn.apps.run import teach
from sociallearn.teaching.context import Context

CLI = [sys.executable, "-m", "sociallearn.apps.cli"]


def small_context(library: Path, method: str, teacher_model: str = "smollm2") -> Context:
    return Context.of(
        method=method,
        teacher_model=teacher_model,
        teachers=2,
        samples=6,
        keep=4,
        lessons=4,
        test_size=20,
        library=str(library),
    )


@pytest.fixture(scope="module")
def taught(tmp_path_factory: pytest.TempPathFactory, datasets: Path) -> dict:
    """One synthetic-examples run with a SQLite checkpointer, shared by the tests below."""
    root = tmp_path_factory.mktemp("teach")
    context = small_context(root / "library", "synthetic_examples")
    connection = sqlite3.connect(root / "checkpoints.sqlite", check_same_thread=False)
    state = teach(
        context,
        queries=["WINNER!! You have won a £1000 prize, call now to claim", "see you at lunch?"],
        checkpointer=SqliteSaver(connection),
        thread_id="real-run",
    )
    connection.close()
    return {"root": root, "context": context, "state": state}


def test_lessons_are_published_and_answers_given(taught: dict):
    state = taught["state"]
    assert state["published"], "no lesson was published"
    assert all(lesson.kind == "example" and lesson.verdict.passed for lesson in state["lessons"])
    assert [answer.answer in {"spam", "ham"} for answer in state["answers"]] == [True, True]


def test_a_new_process_reads_the_library_and_the_student_answers(taught: dict):
    library = str(taught["context"].settings.library)
    listed = subprocess.run(
        [*CLI, "lessons", "list", "--library", library, "--task", "sms_spam", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    stored = {json.loads(line)["id"] for line in listed.stdout.splitlines()}
    assert set(taught["state"]["published"]) <= stored
    asked = subprocess.run(
        [
            *CLI,
            "ask",
            "--library",
            library,
            "--json",
            "Free entry! Win a brand new phone, text WIN",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(asked.stdout.strip().splitlines()[-1])
    assert answer["answer"] in {"spam", "ham"} and set(answer["scores"]) == {"spam", "ham"}


def test_private_data_never_reaches_checkpoint_or_library(taught: dict):
    split = taught["context"].resources.split
    private = {text for silo in split.silos.values() for text in silo.private_texts()}
    # Short messages ("Ok lar...") are common phrases, not identifying: scan the distinctive ones.
    distinctive = [text for text in private if len(text) >= 40]
    assert len(distinctive) > 100
    root: Path = taught["root"]
    blobs = [path.read_bytes() for path in root.rglob("*") if path.is_file()]
    assert any(b"teacher-0" in blob for blob in blobs), "checkpoint/library files not scanned"
    leaked = [text for text in distinctive if any(text.encode() in blob for blob in blobs)]
    assert leaked == []


def test_instructions_method_end_to_end(tmp_path: Path, datasets: Path):
    # gemma3 teaches: smollm2's instructions loop on one sentence, which the filter rejects.
    context = small_context(tmp_path / "library", "instructions", teacher_model="gemma3")
    state = teach(context, queries=["hi mum, home soon"])
    kinds = {lesson.kind for lesson in state["lessons"]}
    assert state["published"] and kinds == {"instruction"}
    assert state["answers"][0].answer in {"spam", "ham"}


def test_a_private_choice_among_public_drafts(tmp_path: Path, datasets: Path):
    """smollm2 teachers draft from the task's description alone and the student's prompt is
    chosen once, privately, on their held-back messages: the lessons carry ε, none is a
    message of the data."""
    context = Context.of(
        method="public_examples", aggregator="dp_choice", teachers=2, samples=4, keep=4,
        lessons=2, votes_held_out=4, test_size=20, library=str(tmp_path / "library"),
    )  # fmt: skip
    state = teach(context)
    assert len({lesson.content_hash for lesson in state["candidates"]}) > 2  # a real choice
    assert len(state["lessons"]) == 2
    for lesson in state["lessons"]:
        assert (lesson.settings["dp_epsilon_total"], lesson.settings["dp_delta"]) == (1.0, 0.0)
    messages = (datasets / "sms_spam" / "SMSSpamCollection").read_text(encoding="utf-8")
    assert not any(f"\t{lesson.input}\n" in messages for lesson in state["lessons"])


def test_teach_without_a_preset_runs_the_committed_default(tmp_path: Path, datasets: Path):
    """`sociallearn teach` with no `--preset` runs what the committed numbers choose on SMS (the
    private choice where qwen1.5b is installed), here with smollm2 in its place and fewer teachers."""
    library = str(tmp_path / "library")
    taught = subprocess.run(
        [
            *CLI, "teach", "--teacher-model", "smollm2", "--student-model", "smollm2",
            "--teachers", "2", "--samples", "4", "--keep", "4", "--lessons", "2",
            "--votes-held-out", "4", "--library", library,
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    chosen = default_preset("teach", task="sms_spam")[0]
    assert f"preset {chosen.name}: the most accurate" in taught.stderr
    listed = subprocess.run(
        [*CLI, "lessons", "list", "--library", library, "--task", "sms_spam", "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lessons = [json.loads(line) for line in listed.stdout.splitlines()]
    assert lessons and all(
        lesson["settings"]["aggregator"] == chosen.settings["aggregator"]
        and lesson["settings"]["shots"] == chosen.settings["shots"]
        and lesson["settings"].get("dp_epsilon_total") == chosen.settings.get("dp_epsilon")
        for lesson in lessons
    )
