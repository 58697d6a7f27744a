"""A teacher judges student prompts on its own held-back private examples (voting, checks).

The score of a student prompt is the length-normalised log-likelihood (mean per token) of each
held-back example's output after the prompt and the example's query, averaged over the
examples. The examples never leave the teacher: only the scores do, and only as votes or as
keep/drop decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sociallearn.lm import LanguageModel
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Example, Task

T = TypeVar("T")


def judging_examples(task: Task, silo: TeacherSilo, size: int) -> list[Example]:
    """Up to `size` held-back examples, alternating labels for classification tasks."""
    return labels_in_turn(task, silo.held_out or silo.examples, size)


def labels_in_turn(task: Task, pool: Sequence[Example], size: int) -> list[Example]:
    """Up to `size` examples of `pool`, alternating labels for classification tasks."""
    if not task.labels:
        return list(pool[:size])
    by_label = [[e for e in pool if e.answer == label] for label in task.labels]
    return interleave(by_label)[:size]


def held_out_scores(
    model: LanguageModel, task: Task, silo: TeacherSilo, preambles: Sequence[str], size: int
) -> list[float]:
    """The teacher's score of each student prompt preamble on `size` held-back examples."""
    held = judging_examples(task, silo, size)
    if not held or not preambles:
        return [0.0] * len(preambles)
    pairs = [
        (preamble + task.format_query(example.input), f" {example.output}")
        for preamble in preambles
        for example in held
    ]
    scores = model.score_pairs(pairs)
    per = len(held)
    return [
        sum(s.mean for s in scores[i * per : (i + 1) * per]) / per for i in range(len(preambles))
    ]


def interleave(groups: Sequence[Sequence[T]]) -> list[T]:
    """The groups' items taken in turn: each group's first, then each group's second, ..."""
    longest = max((len(group) for group in groups), default=0)
    return [group[i] for i in range(longest) for group in groups if i < len(group)]
