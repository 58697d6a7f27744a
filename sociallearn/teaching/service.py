"""A teacher service: one data holder's teacher, next to its data, answering coordinators.

The service owns its data file, its model and its privacy filter settings; a coordinator only
chooses the run's public settings (method, n, τ, seed, ...) and the teacher id. Everything a
request needs from the owner's side is built here, once per request, on models loaded once per
service. Answers carry lessons that passed the filter, drops with reasons that name no private
text, and numbers; every request is recorded in the service's journal (no private text).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sociallearn.core.lm import LanguageModel
from sociallearn.core.schema import TeacherDrop
from sociallearn.engine.pool import ModelPool
from sociallearn.stores.silo import DataSplit, TeacherSilo, own_silo
from sociallearn.tasks import DataError, Example, get_task
from sociallearn.teaching.context import Context
from sociallearn.teaching.judging import held_out_scores
from sociallearn.teaching.registries import check_registered
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.settings import SERVICE_OWNED, ServiceConfig, Settings

log = logging.getLogger(__name__)


class ServiceRequestError(ValueError):
    """A coordinator's request this service cannot serve (the reason goes back to it)."""


class ServiceResources(Resources):
    """A request's resources on the service: the owner's silo instead of a split dataset."""

    def __init__(self, settings: Settings, silo: TeacherSilo, models: ModelPool) -> None:
        super().__init__(settings, models=models)
        self._silo = silo

    @cached_property
    def _split(self) -> DataSplit:
        return DataSplit(task=self.task, test=[], silos={self._silo.teacher_id: self._silo})


class TeacherService:
    """The owner's teacher: its data read and checked once, its model loaded once, one
    request at a time."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.owner = config.owner
        self.task = get_task(config.owner.task)
        self.examples: list[Example] = self.task.load(Path(config.data))  # bad data fails here
        if len(self.examples) < 2:
            raise DataError(f"{config.data}: a teacher needs at least 2 examples")
        self.models = ModelPool(self._load, n_gpu_layers=config.owner.n_gpu_layers)
        self._lock = threading.Lock()

    def _load(self, name: str, n_gpu_layers: int | None) -> LanguageModel:
        from sociallearn.engine.llama import LlamaEngine

        return LlamaEngine(name, n_gpu_layers=n_gpu_layers, n_threads=self.config.threads)

    def settings_for(self, public: dict[str, Any]) -> Settings:
        """The run's settings as this service applies them: the coordinator's public choices,
        the owner's data, model and filter."""
        if public.get("task", self.owner.task) != self.owner.task:
            raise ServiceRequestError(
                f"this service teaches {self.owner.task}, not {public.get('task')}"
            )
        owned = {name: getattr(self.owner, name) for name in SERVICE_OWNED}
        owned["data_path"] = self.config.data
        settings = Settings.model_validate({**public, **owned})
        check_registered(settings)
        return settings

    def silo(self, teacher_id: str) -> TeacherSilo:
        """The owner's data as the silo of `teacher_id` (the id seeds the teacher's draws)."""
        return own_silo(teacher_id, self.examples)

    def teach(
        self,
        teacher_id: str,
        run_id: str,
        public: dict[str, Any],
        run_teacher: Callable[[Context], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run the teacher (`run_teacher`, the teacher graph) on the owner's data; what may leave."""

        def work() -> dict[str, Any]:
            settings = self.settings_for(public)
            resources = ServiceResources(settings, self.silo(teacher_id), self.models)
            output = run_teacher(Context(settings=settings, resources=resources))
            return {
                "candidates": output.get("candidates", []),
                "dropped": output.get("dropped", []),
                "held_out_accuracy": output.get("held_out_accuracy", {}),
                "acceptance": output.get("acceptance", {}),
            }

        return self._serve("teach", teacher_id, run_id, work)

    def judge(
        self, teacher_id: str, public: dict[str, Any], preambles: list[str]
    ) -> dict[str, Any]:
        """Scores of student prompt preambles on the owner's held-back examples."""

        def work() -> dict[str, Any]:
            settings = self.settings_for(public)
            model = self.models.get(settings.judging_model())
            silo = self.silo(teacher_id)
            size = settings.votes_held_out
            return {"scores": held_out_scores(model, self.task, silo, preambles, size)}

        return self._serve("judge", teacher_id, "", work)

    def _serve(
        self, request: str, teacher_id: str, run_id: str, work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """`work` under the service's lock, journaled; a failure becomes a drop whose reason
        names no private text (details stay in the service's own log)."""
        started = time.time()
        with self._lock:
            try:
                answer = work()
                outcome = "served"
            except (ServiceRequestError, ValidationError) as exc:
                answer = {"dropped": [drop(teacher_id, f"the service refused: {exc}")]}
                outcome = "refused"
            except Exception as exc:  # reported, not raised: the run goes on
                log.exception("teacher service: %s request failed", request)
                reason = f"the teacher service failed ({type(exc).__name__}; see its log)"
                answer = {"dropped": [drop(teacher_id, reason)]}
                outcome = "failed"
        self.record(
            request=request,
            teacher_id=teacher_id,
            run_id=run_id,
            outcome=outcome,
            lessons=len(answer.get("candidates", [])),
            seconds=round(time.time() - started, 3),
        )
        return answer

    def record(self, **entry: Any) -> None:
        """Append one request to the journal, if the service keeps one."""
        if self.config.journal is None:
            return
        path = Path(self.config.journal)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"time": time.time(), **entry}) + "\n")


def drop(teacher_id: str, reason: str) -> TeacherDrop:
    return TeacherDrop(teacher_id=teacher_id, attempts=0, reasons=[reason])


_service: TeacherService | None = None
_service_lock = threading.Lock()


def current_service() -> TeacherService:
    """This process's teacher service, built from $SOCIALLEARN_TEACHER_SERVICE on first use."""
    global _service
    with _service_lock:
        if _service is None:
            _service = TeacherService(ServiceConfig.from_env())
        return _service
