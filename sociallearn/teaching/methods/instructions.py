"""Instructions: a teacher writes notes on its examples, then one instruction from them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sociallearn.teaching.drafting import write_instruction, write_notes
from sociallearn.teaching.methods.base import TeachingMethod
from sociallearn.teaching.workspace import Draft, TeacherWorkspace

if TYPE_CHECKING:
    from sociallearn.teaching.settings import TeachSettings


class Instructions(TeachingMethod):
    name = "instructions"
    lesson_kind = "instruction"
    one_teacher = True

    def lessons_wanted(self, settings: TeachSettings) -> int:
        return 1

    def reason(self, workspace: TeacherWorkspace) -> None:
        workspace.notes = write_notes(workspace)

    def draft(self, workspace: TeacherWorkspace, feedback: list[str], seed: int) -> list[Draft]:
        text = write_instruction(workspace, feedback, seed)
        return [Draft(text)] if text else []
