"""Baseline and upper bar: the student sees n of one teacher's private examples (leaks them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Task
from sociallearn.teaching.methods.base import TeachingMethod
from sociallearn.teaching.student import build_prompt

if TYPE_CHECKING:
    from sociallearn.teaching.settings import TeachSettings


class OriginalExamples(TeachingMethod):
    name = "original_examples"
    teaches = False
    one_teacher = True

    def baseline_prompt(self, task: Task, silo: TeacherSilo, settings: TeachSettings) -> str:
        shots = silo.shots(settings.shots, settings.seed)
        return build_prompt(task, examples=[task.format_example(e) for e in shots])
