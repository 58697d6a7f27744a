"""The interface of an aggregator: it builds the student's prompt from the teachers' lessons."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from sociallearn.schema import Lesson

if TYPE_CHECKING:
    from sociallearn.context import Context


class Aggregator(ABC):
    """Chooses the lessons for the student's prompt; one subclass each, registered in
    `AGGREGATORS`."""

    name: ClassVar[str]

    def aggregate(
        self,
        candidates: list[Lesson],
        wanted: int,
        context: Context,
        run_id: str,
        teachers: list[str],
    ) -> list[Lesson]:
        """`wanted` distinct lessons (by content, the first teacher's copy). With no more
        candidates than wanted, all of them in a seeded random order."""
        distinct: dict[str, Lesson] = {}
        for lesson in sorted(candidates, key=lambda lesson: lesson.id):
            distinct.setdefault(lesson.content_hash, lesson)
        unique = list(distinct.values())
        if len(unique) <= wanted:
            return draw(unique, wanted, run_id, context.settings.seed)
        return self.choose(unique, wanted, context, run_id, teachers)

    @abstractmethod
    def choose(
        self,
        candidates: list[Lesson],
        wanted: int,
        context: Context,
        run_id: str,
        teachers: list[str],
    ) -> list[Lesson]:
        """`wanted` of more than `wanted` distinct candidates."""


def draw(candidates: list[Lesson], wanted: int, run_id: str, seed: int) -> list[Lesson]:
    """A seeded random draw: the same run id and seed draw the same lessons."""
    rng = random.Random(f"{run_id}:{seed}")
    return rng.sample(candidates, min(wanted, len(candidates)))
