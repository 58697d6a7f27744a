"""The lesson library on a real Chroma folder: versions, duplicates, export/import and merge."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sociallearn.core.schema import Lesson, Verdict
from sociallearn.stores.library import (
    LessonLibrary,
    LibraryFormatError,
    clear_new_memory,
    read_jsonl,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def lesson(
    text: str, run_id: str, teacher: str = "teacher-0", minute: int = 0, **extra: object
) -> Lesson:
    fields: dict = {
        "task": "sms_spam",
        "kind": "example",
        "text": f"Message: {text}\nLabel: spam",
        "input": text,
        "output": "spam",
        "answer": "spam",
        "teacher_id": teacher,
        "teacher_model": "smollm2",
        "run_id": run_id,
        "method": "synthetic_examples",
        "settings": {"shots": 8, "temperature": 0.7, "student_model": "smollm2"},
        "verdict": Verdict(passed=True, redactions={"phone": 1}, max_similarity=0.31),
        "mean_logprob": -1.25,
        "created_at": T0 + timedelta(minutes=minute),
    }
    fields.update(extra)
    return Lesson(**fields)


@pytest.fixture
def library(tmp_path: Path) -> LessonLibrary:
    return LessonLibrary.open(tmp_path / "library")


def test_same_id_twice_is_a_no_op(library: LessonLibrary):
    first = lesson("Win a free cruise, reply YES", "run-a")
    assert [p.status for p in library.publish([first])] == ["new"]
    again = library.publish([first])
    assert [(p.status, p.stored_as) for p in again] == [("present", first.id)]
    assert library.count() == 1


def test_duplicate_content_is_recorded_not_stored_twice(library: LessonLibrary):
    original = lesson("Win a free cruise, reply YES", "run-a", minute=0)
    repeat = lesson("Win a free cruise, reply YES", "run-b", teacher="teacher-1", minute=5)
    library.publish([original])
    [published] = library.publish([repeat])
    assert (published.status, published.stored_as) == ("duplicate", original.id)
    assert library.count() == 1
    [(seen, earlier)] = library.duplicate_sightings("sms_spam")
    assert (seen.run_id, seen.teacher_id, earlier) == ("run-b", "teacher-1", original.id)
    assert library.get([repeat.id]) == [original]  # a duplicate's id reads the earlier lesson
    # The same text in another task is not a duplicate.
    other_task = lesson("Win a free cruise, reply YES", "run-c", task="other")
    assert library.publish([other_task])[0].status == "new"


def test_reteaching_adds_versions_per_teacher(library: LessonLibrary):
    library.publish(
        [lesson("cash prize now", "run-a", minute=0), lesson("free tones", "run-a", minute=1)]
    )
    library.publish([lesson("claim your reward", "run-b", minute=10)])
    library.publish([lesson("cash prize now", "run-c", minute=20)])  # only a duplicate
    library.publish([lesson("hot singles", "run-b", teacher="teacher-1", minute=11)])
    versions = library.versions("sms_spam", "teacher-0")
    assert [(v.version, v.run_id) for v in versions] == [(1, "run-a"), (2, "run-b"), (3, "run-c")]
    assert len(versions[0].lessons) == 2
    assert versions[2].lessons == [lesson("cash prize now", "run-a").id]
    assert [(v.teacher_id, v.version) for v in library.versions("sms_spam", "teacher-1")] == [
        ("teacher-1", 1)
    ]
    # Nothing was overwritten: every version's lessons are still readable.
    assert len(library.list(task="sms_spam")) == 4


def test_export_import_round_trip_loses_nothing(library: LessonLibrary, tmp_path: Path):
    library.publish(
        [
            lesson("cash prize now", "run-a", minute=0),
            lesson("call [PHONE] now", "run-a", teacher="teacher-1", minute=1, votes=2),
            lesson(
                "Read the sender and the offer.",
                "run-a",
                minute=2,
                kind="instruction",
                input=None,
                output=None,
                answer=None,
                review="edited",
            ),
        ]
    )
    library.publish([lesson("cash prize now", "run-b", minute=3)])
    first = tmp_path / "first.jsonl"
    assert library.export_jsonl(first) == 4
    copy = LessonLibrary.open(tmp_path / "copy")
    statuses = [p.status for p in copy.import_jsonl(first)]
    assert sorted(statuses) == ["duplicate", "new", "new", "new"]
    second = tmp_path / "second.jsonl"
    copy.export_jsonl(second)
    assert second.read_text() == first.read_text()
    assert copy.list() == library.list()
    assert copy.duplicate_sightings() == library.duplicate_sightings()
    assert copy.versions("sms_spam") == library.versions("sms_spam")


def test_merge_two_libraries(library: LessonLibrary, tmp_path: Path):
    other = LessonLibrary.open(tmp_path / "other")
    library.publish([lesson("cash prize now", "run-a", minute=0)])
    other.publish(
        [lesson("cash prize now", "run-x", minute=1), lesson("free tones", "run-x", minute=2)]
    )
    results = library.merge(other)
    assert sorted(p.status for p in results) == ["duplicate", "new"]
    assert {item.text for item in library.list()} == {item.text for item in other.list()}
    assert [v.run_id for v in library.versions("sms_spam")] == ["run-a", "run-x"]
    assert [p.status for p in library.merge(other)] == ["present", "present"]  # idempotent


def test_bad_import_names_file_line_and_field(library: LessonLibrary, tmp_path: Path):
    good = lesson("cash prize now", "run-a")
    path = tmp_path / "bad.jsonl"
    library.publish([good])
    library.export_jsonl(path)
    line = path.read_text().strip()
    path.write_text(line + "\n" + line.replace('"teacher_id":"teacher-0",', "") + "\n")
    with pytest.raises(LibraryFormatError, match=r"bad.jsonl:2: lesson.teacher_id: Field required"):
        read_jsonl(path)
    path.write_text(line.replace(f'"id":"{good.id}"', '"id":"forged"') + "\n")
    with pytest.raises(LibraryFormatError, match=r"bad.jsonl:1: id: 'forged' does not match"):
        read_jsonl(path)


# A process that held private text, then writes a library: freed buffers full of a marker on
# several threads' heaps (glibc arenas), as a long run leaves them, before the library opens.
LITTERED_LIBRARY = """
import sys, threading
from sociallearn.core.schema import Lesson
from sociallearn.stores.library import LessonLibrary

MARK = b"PRIVATE-MARKER-7f3a9c "

def litter():
    big = bytearray(4_000_000)  # freed, it raises glibc's threshold for fresh mmap'd memory
    del big
    junk = [bytearray(MARK * (100_000 // len(MARK))) for _ in range(40)]
    del junk

threads = [threading.Thread(target=litter) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
litter()
library = LessonLibrary.open(sys.argv[1])
library.publish(
    Lesson(task="sms_spam", kind="instruction", text=f"lesson {i}", teacher_id="t",
           teacher_model="m", run_id="r", method="instructions")
    for i in range(3)
)
"""


def test_a_library_holds_no_leftovers_of_the_process_memory(tmp_path: Path):
    """Chroma writes HNSW buffers before filling them (chroma-core/chroma#7688); leftovers of
    freed memory (here a marker, in a run private examples) must not reach the folder."""
    folder = tmp_path / "library"
    for _ in range(8):  # unguarded, the marker reached the files in 2 of 6 runs (measured)
        subprocess.run([sys.executable, "-c", LITTERED_LIBRARY, str(folder)], check=True)
        files = [path for path in folder.rglob("*") if path.is_file()]
        assert any(path.name == "data_level0.bin" for path in files)
        assert [path.name for path in files if b"PRIVATE-MARKER" in path.read_bytes()] == []
        shutil.rmtree(folder)


def test_new_memory_is_cleared_once_a_library_opens(tmp_path: Path):
    """glibc fills new allocations with zeros after a local library opens."""
    LessonLibrary.open(tmp_path / "library")
    if not clear_new_memory():
        pytest.skip("not glibc: mallopt(M_PERTURB) is not available")
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size = 64_000  # below glibc's threshold for fresh mmap'd (zeroed) memory
    block = libc.malloc(size)
    ctypes.memset(block, 0x41, size)
    libc.free(block)
    again = libc.malloc(size)
    try:
        assert ctypes.string_at(again, size) == bytes(size)
    finally:
        libc.free(again)


def test_a_lesson_that_looks_like_markup_is_shown_as_written():
    """A model's "[/INST]" or "[bold]" in a lesson is text, not rich markup (it crashed `teach`)."""
    from rich.console import Console

    from sociallearn.apps.library_cli import lessons_table
    from sociallearn.core.schema import Lesson

    text = "Spam offers prizes. [/INST] [bold]Reply STOP[/bold]"
    lesson = Lesson(task="sms_spam", kind="instruction", text=text, teacher_id="teacher-[0]",
                    teacher_model="gemma3", run_id="r", method="instructions")  # fmt: skip
    console = Console(record=True, width=200)
    console.print(lessons_table([lesson]))
    shown = console.export_text()
    assert "[/INST] [bold]Reply STOP[/bold]" in shown and "teacher-[0]" in shown
