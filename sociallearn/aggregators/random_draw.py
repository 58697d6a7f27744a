"""Random: the student's prompt is a seeded random draw of the candidates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sociallearn.aggregators.base import Aggregator, draw
from sociallearn.schema import Lesson

if TYPE_CHECKING:
    from sociallearn.context import Context


class RandomDraw(Aggregator):
    name = "random"

    def choose(
        self,
        candidates: list[Lesson],
        wanted: int,
        context: Context,
        run_id: str,
        teachers: list[str],
    ) -> list[Lesson]:
        return draw(candidates, wanted, run_id, context.settings.seed)
