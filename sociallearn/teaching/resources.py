"""What a teach run works with, opened once per run: task, data split, models, library, workspaces.

Whoever starts a run builds its `Resources` (or lets `Context` build them from the settings)
and they are passed to every node through LangGraph's runtime context; nothing is fetched from
process-wide caches. Models come from a `ModelPool` that the caller may share between runs.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING

from sociallearn.core.lm import LanguageModel
from sociallearn.engine.pool import ModelPool
from sociallearn.stores.library import LessonLibrary
from sociallearn.stores.silo import DataSplit, load_split
from sociallearn.tasks import Task, get_task
from sociallearn.teaching.remote import RemoteTeacher
from sociallearn.teaching.workspace import TeacherWorkspace

if TYPE_CHECKING:
    from sociallearn.teaching.settings import Settings


class Resources:
    """The run's resources, each opened on first use (a run that never votes loads no split
    for voting, a run without queries no student)."""

    def __init__(
        self,
        settings: Settings,
        *,
        models: ModelPool | None = None,
        library: LessonLibrary | None = None,
    ) -> None:
        self.settings = settings
        self.models = models or ModelPool(
            n_gpu_layers=settings.n_gpu_layers, served=settings.served_options()
        )
        self._library = library
        self._workspaces: dict[tuple[str, str], TeacherWorkspace] = {}
        self._lock = threading.Lock()  # teachers run in parallel threads

    @cached_property
    def task(self) -> Task:
        return get_task(self.settings.task)

    @property
    def split(self) -> DataSplit:
        """The data split: a public test set and one private silo per teacher."""
        with self._lock:
            return self._split

    @cached_property
    def _split(self) -> DataSplit:
        s = self.settings
        return load_split(
            self.task,
            s.data_path,
            s.teachers,
            s.test_size,
            s.seed,
            s.canary,
            s.canary_answer,
            final=s.final,
        )

    @cached_property
    def remote_teachers(self) -> dict[str, RemoteTeacher]:
        """Teacher services by teacher id: they come after the m local teachers."""
        s = self.settings
        return {
            f"teacher-{s.teachers + index}": RemoteTeacher(url, s.remote_timeout)
            for index, url in enumerate(s.remote_teachers)
        }

    def teacher_ids(self) -> list[str]:
        """Every teacher of the run: local ones first, then teacher services."""
        return [f"teacher-{i}" for i in range(self.settings.teachers)] + list(self.remote_teachers)

    @property
    def teacher_model(self) -> LanguageModel:
        return self.models.get(self.settings.teacher_model)

    @property
    def student_model(self) -> LanguageModel:
        return self.models.get(self.settings.student_model)

    @property
    def library(self) -> LessonLibrary:
        with self._lock:
            if self._library is None:
                self._library = LessonLibrary.open(self.settings.library, self.settings.collection)
            return self._library

    def workspace(self, run_id: str, teacher_id: str) -> TeacherWorkspace:
        """The teacher's private workspace in this run (created on first use)."""
        silo = self.split.silos[teacher_id]
        with self._lock:
            key = (run_id, teacher_id)
            if key not in self._workspaces:
                self._workspaces[key] = TeacherWorkspace(
                    teacher_id, silo, self.task, self.teacher_model, self.settings
                )
            return self._workspaces[key]
