"""The checks a lesson from outside a teach run (an import or a merge) must pass to be stored.

A taught lesson is stored only after the privacy filter passed it; an imported one must show
the same: a known task, a passing verdict, and text that passes the filter again. The filter
is re-run without private texts or canaries (an importer has neither), on what a teacher's
filter checks: an instruction's text, an example's input. Plain PII is refused rather than
redacted, since a taught lesson has it redacted already. An example's text must be its task's
rendering of that input and its output, so nothing unchecked rides along.
"""

from __future__ import annotations

from sociallearn.core.schema import Lesson
from sociallearn.privacy.filter import FilterSettings, check
from sociallearn.tasks import TASKS, Example, get_task

IMPORT_FILTER = FilterSettings(pii="reject")


def refusal(lesson: Lesson) -> str | None:
    """Why `lesson` may not be stored, or None when it may."""
    if lesson.task not in TASKS:
        return f"unknown task {lesson.task!r} (known: {', '.join(TASKS)})"
    if not lesson.verdict.passed:
        reasons = "; ".join(lesson.verdict.reasons) or "no reason given"
        return f"its verdict says the privacy filter rejected it ({reasons})"
    checked = lesson.text
    if lesson.kind == "example":
        task = get_task(lesson.task)
        if lesson.input is None or lesson.output is None:
            return "an example lesson needs its input and output"
        if task.labels and lesson.output not in task.labels:
            return f"output {lesson.output!r} is not a {task.name} label ({', '.join(task.labels)})"
        example = Example(input=lesson.input, output=lesson.output, answer=lesson.answer or "")
        if lesson.text != task.format_example(example):
            return f"text is not the {task.name} rendering of the lesson's input and output"
        checked = lesson.input
    verdict, _ = check(checked, [], IMPORT_FILTER)
    if not verdict.passed:
        return "the privacy filter rejects it: " + "; ".join(verdict.reasons)
    return None
