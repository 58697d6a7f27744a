"""A teacher's private workspace: its silo, its model, its notes and its unfiltered drafts.

A workspace lives as long as the run's resources (`sociallearn.teaching.resources.Resources`) and stays
on the teacher's side of the privacy filter: nothing in it enters the graph state, a
checkpoint, a log or the library. Only lessons built from drafts that pass the filter do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sociallearn.core.lm import LanguageModel
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Example, Task

if TYPE_CHECKING:
    from sociallearn.teaching.settings import Settings


@dataclass(frozen=True)
class Draft:
    """An unfiltered candidate: instruction text, or a synthetic example with its likelihood."""

    text: str
    example: Example | None = None
    mean_logprob: float | None = None


@dataclass(frozen=True)
class Miss:
    """A held-back example the student answered wrongly during a teacher's self-check."""

    example: Example
    predicted: str


@dataclass
class TeacherWorkspace:
    """What one teacher works with during a run, privately."""

    teacher_id: str
    silo: TeacherSilo
    task: Task
    model: LanguageModel
    settings: Settings
    notes: str = ""
    # Whether its own few-shot classifier is good enough to check synthetic labels with
    # (`drafting.trusts_own_labels`); None until checked.
    trusts_labels: bool | None = None
    drafts: list[Draft] = field(default_factory=list)
    # Refinement (`refine_rounds`): the candidates the next round checks, the best drafts so
    # far, their held-back accuracy and the student's misses with them.
    candidates: list[list[Draft]] = field(default_factory=list)
    first_drafts: list[Draft] = field(default_factory=list)
    best_drafts: list[Draft] = field(default_factory=list)
    best_accuracy: float = -1.0
    round_errors: list[Miss] = field(default_factory=list)

    def shots(self) -> list[Example]:
        """The n private examples this teacher teaches from."""
        return self.silo.shots(self.settings.shots, self.settings.seed)
