"""The interface of an aggregator: it builds the student's prompt from the teachers' lessons."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from sociallearn.core.schema import Lesson

if TYPE_CHECKING:
    from sociallearn.teaching.context import Context


@dataclass(frozen=True)
class Ballot:
    """What an aggregator may consult: the run's context (settings, teachers' resources), the
    run id and the teachers that taught."""

    context: Context
    run_id: str
    teachers: list[str]


class Aggregator(ABC):
    """Chooses the lessons for the student's prompt; one subclass each, registered in
    `AGGREGATORS`."""

    name: ClassVar[str]
    # Whether teachers vote with likelihoods of their held-back examples (`vote_judge`'s model).
    votes: ClassVar[bool] = False

    def aggregate(self, candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
        """`wanted` distinct lessons (by content, the first teacher's copy). With no more
        candidates than wanted, all of them in a seeded random order."""
        distinct: dict[str, Lesson] = {}
        for lesson in sorted(candidates, key=lambda lesson: lesson.id):
            distinct.setdefault(lesson.content_hash, lesson)
        unique = list(distinct.values())
        if len(unique) <= wanted:
            return draw(unique, wanted, ballot)
        return self.choose(unique, wanted, ballot)

    @abstractmethod
    def choose(self, candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
        """`wanted` of more than `wanted` distinct candidates."""


def draw(candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
    """A seeded random draw: the same run id and seed draw the same lessons."""
    rng = random.Random(f"{ballot.run_id}:{ballot.context.settings.seed}")
    return rng.sample(candidates, min(wanted, len(candidates)))


def dp_noise(ballot: Ballot, name: str) -> random.Random:
    """The noise source of a differentially private aggregator: the OS's entropy, or (with
    `dp_secure_noise` off, to measure accuracy repeatably) seeded by the run id, seed and `name`."""
    settings = ballot.context.settings
    if settings.dp_secure_noise:
        return random.SystemRandom()
    return random.Random(f"{ballot.run_id}:{settings.seed}:{name}")
