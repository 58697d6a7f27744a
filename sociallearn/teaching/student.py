"""The student: answers queries with lessons only, never with private data."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import logsumexp

from sociallearn.core import prompts
from sociallearn.core.literals import Calibration
from sociallearn.core.lm import LanguageModel
from sociallearn.core.schema import Answer, Lesson
from sociallearn.tasks import Task

if TYPE_CHECKING:
    from sociallearn.teaching.settings import TeachSettings

# Domain-context calibration (Fei et al., ACL 2023): the label prior is the mean of the label
# probabilities of this many strings of random words drawn from the queries' own words.
DOMAIN_STRINGS = 20
# Fewer queries than this are too few words to stand for the domain: content-free instead.
MIN_DOMAIN_QUERIES = 8

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
    """Answers a task's queries after a prompt preamble, with label scoring and calibration.

    Calibration subtracts the label prior of the prompt itself: the label log-probabilities
    of a content-free input ("N/A"), or with `calibration="domain"` the mean label
    probabilities of random strings of words of the unlabelled queries (`adapt_to`).
    """

    def __init__(
        self,
        model: LanguageModel,
        task: Task,
        *,
        calibration: Calibration = "content_free",
    ) -> None:
        self.model = model
        self.task = task
        self.calibration = calibration
        self._domain_inputs: list[str] = []
        self._adapted = False
        self._baseline: dict[str, list[float]] = {}

    @classmethod
    def for_settings(cls, model: LanguageModel, task: Task, settings: TeachSettings) -> Student:
        """The student as `settings` configure it (`calibration`)."""
        return cls(model, task, calibration=settings.calibration)

    def adapt_to(self, queries: Sequence[str]) -> None:
        """Draw the domain-calibration inputs from the words of `queries` (unlabelled), the
        same strings for every query answered after this, whatever batch it comes in; with
        fewer than `MIN_DOMAIN_QUERIES`, calibrate on the content-free input instead."""
        texts = [query.split() for query in queries]
        words = [word for text in texts for word in text]
        self._domain_inputs, self._baseline, self._adapted = [], {}, True
        if len(texts) < MIN_DOMAIN_QUERIES or not words:
            return
        length = max(1, round(len(words) / len(texts)))
        rng = random.Random(0)
        self._domain_inputs = [
            " ".join(rng.choice(words) for _ in range(length)) for _ in range(DOMAIN_STRINGS)
        ]

    def answer(self, preamble: str, query: str) -> Answer:
        return self.answer_many(preamble, [query])[0]

    def answer_many(self, preamble: str, queries: Sequence[str]) -> list[Answer]:
        """Answers to `queries`: labels scored in one model call, generations decoded together.

        Domain calibration without `adapt_to` first draws its inputs from these queries."""
        if not queries:
            return []
        if self.task.labels:
            if self.calibration == "domain" and not self._adapted:
                self.adapt_to(queries)
            rows = self._label_logprobs(preamble, queries)
            prior = (
                [0.0] * len(self.task.labels)
                if self.calibration == "none"
                else self._prior(preamble)
            )
            return [
                self._classified(query, row, prior)
                for query, row in zip(queries, rows, strict=True)
            ]
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

    def _classified(self, query: str, raw: list[float], prior: list[float]) -> Answer:
        scores = {
            label: value - base
            for label, value, base in zip(self.task.labels, raw, prior, strict=True)
        }
        return Answer(query=query, answer=max(scores, key=scores.__getitem__), scores=scores)

    def _label_logprobs(self, preamble: str, queries: Sequence[str]) -> list[list[float]]:
        """Each query's label log-probabilities after `preamble`, scored in one model call (the
        preamble is evaluated once, not again for each query that another caller interleaves)."""
        options = [f" {label}" for label in self.task.labels]
        scores = self.model.score_pairs(
            [
                (preamble + self.task.format_query(query), option)
                for query in queries
                for option in options
            ]
        )
        width = len(options)
        return [
            [score.logprob for score in scores[start : start + width]]
            for start in range(0, len(scores), width)
        ]

    def _prior(self, preamble: str) -> list[float]:
        """The prompt's label prior: log-probabilities of the labels for a content-free input,
        or the log of their mean normalised probabilities over the domain strings."""
        if preamble not in self._baseline:
            if self.calibration == "domain" and self._domain_inputs:
                rows = np.array(self._label_logprobs(preamble, self._domain_inputs))
                normalised = rows - logsumexp(rows, axis=1, keepdims=True)
                prior = logsumexp(normalised, axis=0) - math.log(len(rows))
                self._baseline[preamble] = [float(value) for value in prior]
            else:
                self._baseline[preamble] = self._label_logprobs(
                    preamble, [prompts.CALIBRATION_INPUT]
                )[0]
        return self._baseline[preamble]
