"""Baseline: the student sees the task statement only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sociallearn.methods.base import TeachingMethod
from sociallearn.stores.silo import TeacherSilo
from sociallearn.student import build_prompt
from sociallearn.tasks import Task

if TYPE_CHECKING:
    from sociallearn.settings import TeachSettings


class ZeroShot(TeachingMethod):
    name = "zero_shot"
    teaches = False
    one_teacher = True

    def baseline_prompt(self, task: Task, silo: TeacherSilo, settings: TeachSettings) -> str:
        return build_prompt(task)
