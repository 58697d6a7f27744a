"""The interface of a teaching method: how a teacher turns private data into lessons.

A method that `teaches` runs in the teacher subgraph: `reason` (private notes), then `draft`
(unfiltered candidates) each attempt. A baseline teaches nothing: `baseline_prompt` gives the
student's prompt directly (0-shot, or the original examples, which leak them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sociallearn.core.schema import LessonKind
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Task
from sociallearn.teaching.workspace import Draft, TeacherWorkspace

if TYPE_CHECKING:
    from sociallearn.teaching.settings import TeachSettings


class TeachingMethod:
    """A way to teach the student; one subclass per method, registered in `METHODS`."""

    name: ClassVar[str]
    teaches: ClassVar[bool] = True
    lesson_kind: ClassVar[LessonKind] = "example"
    # Experiments give the method one teacher, with the n examples `original_examples` shows.
    one_teacher: ClassVar[bool] = False
    # What its teachers score with their model's likelihoods (None: nothing), for the check
    # before a run (`roles`).
    teacher_scores: ClassVar[str | None] = None

    def lessons_wanted(self, settings: TeachSettings) -> int:
        """How many lessons the student's prompt takes."""
        return settings.lessons

    def reason(self, workspace: TeacherWorkspace) -> None:
        """Study the private examples before drafting (keeps notes in the workspace)."""

    def draft(self, workspace: TeacherWorkspace, feedback: list[str], seed: int) -> list[Draft]:
        """This attempt's unfiltered candidates; `feedback` says why the filter rejected the last."""
        raise TypeError(f"{self.name} is a baseline: it drafts no lessons")

    def baseline_prompt(self, task: Task, silo: TeacherSilo, settings: TeachSettings) -> str:
        """The student's prompt without teaching (baselines only)."""
        raise TypeError(f"{self.name} teaches: its prompt comes from lessons")
