"""The student node: answers the run's queries with the lessons, never with private data."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sociallearn.nodes.state import SocialLearningState
from sociallearn.teaching.context import Context
from sociallearn.teaching.methods import get_method
from sociallearn.teaching.retrieval import answer_with_retrieval
from sociallearn.teaching.student import Student, prompt_from_lessons


def student_answers(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Answer the run's queries with the lessons just published, read back from the library.

    With `retrieve = k`, each query gets instead the k lessons of the task nearest to it.
    """
    queries = state.get("queries") or []
    if not queries:
        return {"answers": []}
    settings, resources = runtime.context.settings, runtime.context.resources
    task, library = resources.task, resources.library
    student = Student.for_settings(resources.student_model, task, settings)
    student.adapt_to(queries)
    if settings.retrieve > 0:
        kind = get_method(settings.method).lesson_kind
        return {
            "answers": answer_with_retrieval(student, library, queries, settings.retrieve, kind)
        }
    lessons = library.get(state.get("published", []))
    return {"answers": student.answer_many(prompt_from_lessons(task, lessons), queries)}
