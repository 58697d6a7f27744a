"""Baseline: the student sees the task statement only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Task
from sociallearn.teaching.methods.base import TeachingMethod
from sociallearn.teaching.student import build_prompt

if TYPE_CHECKING:
    from sociallearn.teaching.settings import TeachSettings


class ZeroShot(TeachingMethod):
    name = "zero_shot"
    teaches = False
    one_teacher = True

    def baseline_prompt(self, task: Task, silo: TeacherSilo, settings: TeachSettings) -> str:
        return build_prompt(task)
