"""The student: answers queries with lessons only, never with private data."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sociallearn import prompts
from sociallearn.lm import LanguageModel
from sociallearn.schema import Answer, Lesson
from sociallearn.tasks import Task

# Markdown heading marks at the start of a line ("### Step 1"). A student primed with them
# writes them too, and a task's answer format may use the same marks (GSM8K's "#### <number>").
_HEADING_MARKS = re.compile(r"^[ \t]*#+[ \t]*", re.MULTILINE)


def build_prompt(task: Task, instructions: Sequence[str] = (), examples: Sequence[str] = ()) -> str:
    """The student's prompt preamble: the task statement, then instructions (as plain text,
    without heading marks), then examples."""
    parts = [prompts.STUDENT_INSTRUCTION.format(instruction=task.zero_shot_instruction)]
    parts += [
        prompts.STUDENT_LESSON_HEADER.format(lesson=_HEADING_MARKS.sub("", text))
        for text in instructions
    ]
    parts += [text + prompts.EXAMPLE_SEPARATOR for text in examples]
    return "".join(parts)


def prompt_from_lessons(task: Task, lessons: Sequence[Lesson]) -> str:
    """The student's preamble built from lessons (instructions first, then examples)."""
    return build_prompt(
        task,
        instructions=[lesson.text for lesson in lessons if lesson.kind == "instruction"],
        examples=[lesson.text for lesson in lessons if lesson.kind == "example"],
    )


class Student:
    """Answers a task's queries after a prompt preamble, with label scoring and calibration."""

    def __init__(self, model: LanguageModel, task: Task, *, calibrate: bool = True) -> None:
        self.model = model
        self.task = task
        self.calibrate = calibrate
        self._baseline: dict[str, list[float]] = {}

    def answer(self, preamble: str, query: str) -> Answer:
        return self.answer_many(preamble, [query])[0]

    def answer_many(self, preamble: str, queries: Sequence[str]) -> list[Answer]:
        """Answers to `queries`: labels scored one query at a time, generations decoded together."""
        if self.task.labels:
            return [self._classify(preamble, query) for query in queries]
        completions = self.model.complete_batch(
            [preamble + self.task.format_query(query) for query in queries],
            **self.completion_options(),
        )
        return [
            Answer(query=query, answer=self.task.extract_answer(completion))
            for query, completion in zip(queries, completions, strict=True)
        ]

    def completion_options(self) -> dict[str, Any]:
        """How an answer is generated: its length, where it stops, and its grammar if any."""
        long_answers = self.task.kind == "generation" and self.task.max_answer_tokens > 32
        return {
            "max_tokens": self.task.max_answer_tokens,
            "stop": [
                prompts.EXAMPLE_SEPARATOR + self.task.input_field,
                f"\n{self.task.input_field}:",
            ]
            if long_answers
            else ["\n"],
            "grammar": getattr(self.task, "grammar", None),
        }

    def _classify(self, preamble: str, query: str) -> Answer:
        options = [f" {label}" for label in self.task.labels]
        raw = [
            s.logprob for s in self.model.score(preamble + self.task.format_query(query), options)
        ]
        if self.calibrate:
            baseline = self._content_free(preamble, options)
            raw = [r - b for r, b in zip(raw, baseline, strict=True)]
        scores = dict(zip(self.task.labels, raw, strict=True))
        return Answer(query=query, answer=max(scores, key=scores.__getitem__), scores=scores)

    def _content_free(self, preamble: str, options: list[str]) -> list[float]:
        """Label log-probabilities for a content-free input (contextual calibration)."""
        if preamble not in self._baseline:
            prompt = preamble + self.task.format_query(prompts.CALIBRATION_INPUT)
            self._baseline[preamble] = [s.logprob for s in self.model.score(prompt, options)]
        return self._baseline[preamble]
