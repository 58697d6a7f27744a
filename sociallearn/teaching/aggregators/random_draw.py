"""Random: the student's prompt is a seeded random draw of the candidates."""

from __future__ import annotations

from sociallearn.core.schema import Lesson
from sociallearn.teaching.aggregators.base import Aggregator, Ballot, draw


class RandomDraw(Aggregator):
    name = "random"

    def choose(self, candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
        return draw(candidates, wanted, ballot)
