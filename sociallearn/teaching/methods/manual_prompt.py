"""Baseline: the student reads an instruction written by hand for the task (the paper's
manual prompt), from `prompts.MANUAL_PROMPTS`; no teacher, no private data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sociallearn.core.prompts import MANUAL_PROMPTS
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Task
from sociallearn.teaching.methods.base import TeachingMethod
from sociallearn.teaching.student import build_prompt

if TYPE_CHECKING:
    from sociallearn.teaching.settings import TeachSettings


class ManualPrompt(TeachingMethod):
    name = "manual_prompt"
    teaches = False
    one_teacher = True

    def baseline_prompt(self, task: Task, silo: TeacherSilo, settings: TeachSettings) -> str:
        instruction = MANUAL_PROMPTS.get(task.family)
        if instruction is None:
            known = ", ".join(MANUAL_PROMPTS)
            raise ValueError(f"no manual prompt for task {task.name!r} (written for: {known})")
        return build_prompt(task, instructions=[instruction])
