"""A teacher judges student prompts on its own held-back private examples (voting, checks).

The score of a student prompt is the length-normalised log-likelihood (mean per token) of each
held-back example's output after the prompt and the example's query, averaged over the
examples. The examples never leave the teacher: only the scores do, and only as votes or as
keep/drop decisions. A teacher service can answer with ε-differentially private scores
(`private_scores`): each example's score clipped to [−`JUDGE_CLIP`, 0], so that replacing one
held-back example moves a mean by at most `JUDGE_CLIP` / n, and Laplace noise of that
sensitivity times the number of prompts over ε added to each (the prompts of one answer share ε).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from sociallearn.core.lm import LanguageModel
from sociallearn.privacy.noise import laplace
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Example, Task

T = TypeVar("T")
JUDGE_CLIP = 10.0  # nats per token: the lowest score one held-back example adds to a private answer


def judging_examples(task: Task, silo: TeacherSilo, size: int) -> list[Example]:
    """Up to `size` held-back examples, alternating labels for classification tasks."""
    return labels_in_turn(task, silo.held_out or silo.examples, size)


def labels_in_turn(task: Task, pool: Sequence[Example], size: int) -> list[Example]:
    """Up to `size` examples of `pool`, alternating labels for classification tasks."""
    if not task.labels:
        return list(pool[:size])
    by_label = [[e for e in pool if e.answer == label] for label in task.labels]
    return interleave(by_label)[:size]


def check_halves(task: Task, silo: TeacherSilo, size: int) -> tuple[list[Example], list[Example]]:
    """Two disjoint sets of up to `size` held-back examples, labels in turn: a refining teacher
    chooses among its drafts on the first and accepts the chosen ones on the second, so that
    the choice cannot flatter the acceptance. Each label's examples go to the two in turn."""
    pool = silo.held_out or silo.examples
    groups = [[e for e in pool if e.answer == label] for label in task.labels] or [list(pool)]
    select = interleave([group[0::2] for group in groups])[:size]
    accept = interleave([group[1::2] for group in groups])[:size]
    return select, accept


def held_out_scores(
    model: LanguageModel, task: Task, silo: TeacherSilo, preambles: Sequence[str], size: int
) -> list[float]:
    """The teacher's score of each student prompt preamble on `size` held-back examples."""
    return scores_on(model, task, judging_examples(task, silo, size), preambles)


def scores_on(
    model: LanguageModel,
    task: Task,
    held: Sequence[Example],
    preambles: Sequence[str],
    clip: float | None = None,
) -> list[float]:
    """The score of each student prompt preamble on the examples `held` (each example's score
    clipped to [−`clip`, 0] when given)."""
    if not held or not preambles:
        return [0.0] * len(preambles)
    pairs = [
        (preamble + task.format_query(example.input), f" {example.output}")
        for preamble in preambles
        for example in held
    ]
    means = [
        s.mean if clip is None else max(-clip, min(0.0, s.mean)) for s in model.score_pairs(pairs)
    ]
    per = len(held)
    return [sum(means[i * per : (i + 1) * per]) / per for i in range(len(preambles))]


def private_scores(
    model: LanguageModel,
    task: Task,
    held: Sequence[Example],
    preambles: Sequence[str],
    epsilon: float,
    rng: random.Random,
) -> list[float]:
    """`scores_on` as an ε-differentially private answer about the examples `held`."""
    if not held:
        raise ValueError("no held-back examples to judge on")
    scale = len(preambles) * JUDGE_CLIP / (len(held) * epsilon)
    clipped = scores_on(model, task, held, preambles, clip=JUDGE_CLIP)
    return [score + laplace(rng, scale) for score in clipped]


def interleave(groups: Sequence[Sequence[T]]) -> list[T]:
    """The groups' items taken in turn: each group's first, then each group's second, ..."""
    longest = max((len(group) for group in groups), default=0)
    return [group[i] for i in range(longest) for group in groups if i < len(group)]
