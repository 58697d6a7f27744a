"""The lesson library against a real Chroma server (`chroma run` on localhost).

The server is started here on a free port, or taken from $SOCIALLEARN_CHROMA_URL when set
(e.g. by .ci/run); each test uses its own collection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest

from sociallearn.apps.service_cli import free_port
from sociallearn.core.schema import Lesson
from sociallearn.stores.library import LessonLibrary

WRITER = """
import sys, time
from datetime import datetime, timezone
from sociallearn.core.schema import Lesson
from sociallearn.stores.library import LessonLibrary
url, collection, name = sys.argv[1:4]
count, start = int(sys.argv[4]), float(sys.argv[5])
library = LessonLibrary.open(url, collection)
lessons = [
    Lesson(task="sms_spam", kind="example", text=f"Message: offer {i} from {name}\\nLabel: spam",
           teacher_id=name, teacher_model="smollm2", run_id=f"run-{name}",
           method="synthetic_examples")
    for i in range(count)
]
shared = Lesson(task="sms_spam", kind="instruction", text="Spam offers prizes.", teacher_id=name,
                teacher_model="smollm2", run_id=f"run-{name}", method="instructions")
time.sleep(max(0.0, start - time.time()))
for i in range(0, count, 3):
    library.publish(lessons[i : i + 3])
library.publish([shared])
print("wrote", count)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a running Chroma server."""
    if url := os.environ.get("SOCIALLEARN_CHROMA_URL"):
        yield url
        return
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).with_name("chroma")
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(folder / "data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
                break
            except Exception:
                if process.poll() is not None or time.time() > deadline:
                    raise RuntimeError(
                        f"chroma server did not start: {(folder / 'server.log').read_text()}"
                    ) from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def lesson(text: str, run_id: str) -> Lesson:
    return Lesson(
        task="sms_spam",
        kind="example",
        text=f"Message: {text}\nLabel: spam",
        input=text,
        output="spam",
        answer="spam",
        teacher_id="teacher-0",
        teacher_model="smollm2",
        run_id=run_id,
        method="synthetic_examples",
    )


def collection() -> str:
    return f"lessons-{uuid.uuid4().hex[:8]}"


def test_library_code_works_against_the_server(server: str, tmp_path: Path):
    name = collection()
    library = LessonLibrary.open(server, name)
    library.publish(
        [lesson("cash prize now, call today", "run-a"), lesson("free ringtones", "run-a")]
    )
    library.publish([lesson("cash prize now, call today", "run-b")])
    # A second client (as on another machine) sees the same library.
    other = LessonLibrary.open(server, name)
    assert other.count() == 2 and len(other.duplicate_sightings()) == 1
    [(found, distance)] = other.search("win a cash prize", task="sms_spam", k=1)
    assert "cash prize" in found.text and distance < 0.5
    path = tmp_path / "server.jsonl"
    other.export_jsonl(path)
    local = LessonLibrary.open(tmp_path / "local")
    local.import_jsonl(path)
    assert local.list() == library.list()


def test_two_processes_writing_at_once_lose_nothing(server: str):
    name, count = collection(), 30
    start = time.time() + 8  # both writers load, then start together
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, server, name, writer, str(count), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for writer in ("alpha", "beta")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=180)
        assert writer.returncode == 0, err
    library = LessonLibrary.open(server, name)
    lessons = library.list(task="sms_spam")
    examples = [lesson for lesson in lessons if lesson.kind == "example"]
    assert len(examples) == 2 * count
    assert {lesson.run_id for lesson in examples} == {"run-alpha", "run-beta"}
    assert len({lesson.id for lesson in examples}) == 2 * count
    # The one lesson both wrote is kept; each copy is either the lesson or a recorded sighting.
    shared = [lesson for lesson in lessons if lesson.kind == "instruction"]
    sightings = library.duplicate_sightings("sms_spam")
    assert len(shared) + len(sightings) == 2 and len(shared) >= 1
