"""Retrieval: per query, the student reads the library's lessons closest in meaning to it."""

from __future__ import annotations

from collections.abc import Sequence

from sociallearn.core.schema import Answer, Lesson, LessonKind
from sociallearn.stores.library import LessonLibrary
from sociallearn.teaching.student import Student, prompt_from_lessons


def retrieve(
    library: LessonLibrary, task: str, query: str, k: int, kind: LessonKind = "example"
) -> list[Lesson]:
    """The task's k lessons nearest to `query`, the nearest last (closest to the question)."""
    found = library.search(query, task=task, kind=kind, k=k)
    return [lesson for lesson, _ in reversed(found)]


def retrieval_preamble(
    library: LessonLibrary, student: Student, query: str, k: int, kind: LessonKind = "example"
) -> str:
    """The student's prompt preamble for one query, built from retrieved lessons."""
    task = student.task
    return prompt_from_lessons(task, retrieve(library, task.name, query, k, kind))


def answer_with_retrieval(
    student: Student,
    library: LessonLibrary,
    queries: Sequence[str],
    k: int,
    kind: LessonKind = "example",
) -> list[Answer]:
    """Answer each query with its own k retrieved lessons."""
    return [
        student.answer(retrieval_preamble(library, student, query, k, kind), query)
        for query in queries
    ]
