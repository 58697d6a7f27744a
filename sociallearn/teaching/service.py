"""A teacher service: one data holder's teacher, next to its data, answering coordinators.

The service owns its data file, its model and its privacy filter settings; a coordinator only
chooses the run's public settings (method, n, τ, seed, ...) and the teacher id. Everything a
request needs from the owner's side is built here, once per request, on models loaded once per
service. Answers carry lessons that passed the filter, drops with reasons that name no private
text, and numbers; every request is recorded in the service's journal (no private text).

The owner, not the caller, bounds what a request may cost (held-back examples, samples, shots,
refinement rounds: `ServiceConfig.cost_limits`) and what each coordinator may take in all
(requests, lessons released, the ε of noisy judge answers: `max_*`), remembered across restarts
in the journal. A request over a bound is refused with the reason; a service teaches by
instructions or synthetic examples only (a baseline would hand over the data itself).

With the owner's review (`ServiceConfig.review`, `owner_review`), a teach request's lessons wait
for the owner's decisions, outside the service's lock, and only the approved ones leave.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sociallearn.core.lm import LanguageModel
from sociallearn.core.models import SERVED_PREFIX
from sociallearn.core.schema import TeacherDrop
from sociallearn.engine.pool import ModelPool, load_model
from sociallearn.stores.reviews import RequestKey, ReviewStore
from sociallearn.stores.silo import DataSplit, TeacherSilo, own_silo
from sociallearn.tasks import DataError, Example, get_task
from sociallearn.teaching.context import Context
from sociallearn.teaching.judging import judging_examples, private_scores, scores_on
from sociallearn.teaching.owner_review import OwnerReview
from sociallearn.teaching.registries import check_registered
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.settings import SERVICE_OWNED, ServiceConfig, Settings

log = logging.getLogger(__name__)
SERVED_METHODS = ("instructions", "synthetic_examples")
ANYONE = "anyone"  # the caller of a service without a list of coordinators


@dataclass
class Spent:
    """What one coordinator has taken from this service."""

    requests: int = 0
    lessons: int = 0
    epsilon: float = 0.0


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
    request at a time (a request waiting for the owner's review waits outside that)."""

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.owner = config.owner
        self.task = get_task(config.owner.task)
        self.examples: list[Example] = self.task.load(Path(config.data))  # bad data fails here
        if len(self.examples) < 2:
            raise DataError(f"{config.data}: a teacher needs at least 2 examples")
        self.models = ModelPool(self._load, n_gpu_layers=config.owner.n_gpu_layers)
        self._lock = threading.Lock()
        self._noise = random.SystemRandom()  # judge noise no caller can predict or replay
        self.spent = self._spent_so_far()
        self.review: OwnerReview | None = None
        if config.review and config.reviews is not None:  # the config requires both together
            store = ReviewStore(Path(config.reviews))
            privacy, timeout = config.owner.privacy, config.review_timeout
            self.review = OwnerReview(store, self.task, self.examples, privacy, timeout)

    def _load(self, name: str, n_gpu_layers: int | None) -> LanguageModel:
        """The owner's model: a served one, or a llama.cpp engine on the service's threads."""
        from sociallearn.engine.llama import LlamaEngine

        if name.startswith(SERVED_PREFIX):
            return load_model(name, n_gpu_layers, self.owner.served_options())
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
        for name, limit in self.config.cost_limits().items():
            if getattr(settings, name) > limit:
                raise ServiceRequestError(
                    f"{name} {getattr(settings, name)} is above this service's limit of {limit}"
                )
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
        coordinator: str = ANYONE,
        on_pending: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Run the teacher (`run_teacher`, the teacher graph) on the owner's data; what may leave.

        With the owner's review, the lessons are held until the owner decides (`on_pending` is
        told how many wait), and a request taught before (a retry, or after a restart) waits on
        the same lessons instead of teaching again."""
        held = RequestKey(coordinator, run_id, teacher_id)
        review = self.review

        def work() -> dict[str, Any]:
            if review is not None and review.holds(held):
                return {}  # its lessons wait in the review store: `after` answers it
            settings = self.settings_for(public)
            if settings.method not in SERVED_METHODS:
                raise ServiceRequestError(
                    f"this service teaches by {' or '.join(SERVED_METHODS)}, not {settings.method}"
                )
            resources = ServiceResources(settings, self.silo(teacher_id), self.models)
            output = run_teacher(Context(settings=settings, resources=resources))
            answer = {
                "candidates": output.get("candidates", []),
                "dropped": output.get("dropped", []),
                "held_out_accuracy": output.get("held_out_accuracy", {}),
                "acceptance": output.get("acceptance", {}),
            }
            if review is not None:
                review.hold(held, answer)
            return answer

        after = None if review is None else partial(review.answer, held, on_pending)
        return self._serve("teach", teacher_id, run_id, coordinator, work, after)

    def judge(
        self,
        teacher_id: str,
        public: dict[str, Any],
        preambles: list[str],
        coordinator: str = ANYONE,
    ) -> dict[str, Any]:
        """Scores of student prompt preambles on the owner's held-back examples: exact, or
        with the owner's `judge_epsilon`, ε-differentially private (and the ε they spent)."""

        def work() -> dict[str, Any]:
            settings = self.settings_for(public)
            model = self.models.get(settings.judging_model())
            held = judging_examples(self.task, self.silo(teacher_id), settings.votes_held_out)
            epsilon = self.config.judge_epsilon
            if epsilon is None:
                return {"scores": scores_on(model, self.task, held, preambles)}
            scores = private_scores(model, self.task, held, preambles, epsilon, self._noise)
            return {"scores": scores, "epsilon": epsilon}

        return self._serve("judge", teacher_id, "", coordinator, work)

    def _serve(
        self,
        request: str,
        teacher_id: str,
        run_id: str,
        coordinator: str,
        work: Callable[[], dict[str, Any]],
        after: Callable[[], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """`work` within the coordinator's budget, under the service's lock, then `after` (the
        owner's review, whose answer replaces work's) without it; what the budget lets go,
        journaled. A failure becomes a drop whose reason names no private text (details stay
        in the service's own log)."""
        started = time.time()

        def budgeted() -> dict[str, Any]:
            self._check_budget(request, coordinator, spent)
            return work()

        with self._lock:
            spent = self.spent.setdefault(coordinator, Spent())
            answer, outcome = attempt(request, teacher_id, budgeted)
        if after is not None and outcome == "served":
            answer, outcome = attempt(request, teacher_id, after)
        with self._lock:
            if outcome == "served":
                answer = self._release(answer, teacher_id, spent)
            decisions = answer.pop("review", None)  # the owner's decisions, counted
            entry = {
                "request": request, "coordinator": coordinator, "teacher_id": teacher_id,
                "run_id": run_id, "outcome": outcome,
                "lessons": len(answer.get("candidates", [])),
                "epsilon": answer.get("epsilon", 0.0),
                "seconds": round(time.time() - started, 3),
                **({"review": decisions} if decisions else {}),
            }  # fmt: skip
            charge(spent, entry)
            self.record(**entry)
        return answer

    def _check_budget(self, request: str, coordinator: str, spent: Spent) -> None:
        """Refuse a request over the coordinator's budget, saying which."""
        config = self.config
        if config.max_requests is not None and spent.requests >= config.max_requests:
            raise ServiceRequestError(
                f"{coordinator} has made the {config.max_requests} requests this service allows"
            )
        lessons_left = config.max_lessons is None or spent.lessons < config.max_lessons
        if request == "teach" and not lessons_left:
            raise ServiceRequestError(
                f"{coordinator} has had the {config.max_lessons} lessons this service releases"
            )
        cost = config.judge_epsilon or 0.0
        over = config.max_epsilon is not None and spent.epsilon + cost > config.max_epsilon + 1e-9
        if request == "judge" and over:
            raise ServiceRequestError(
                f"{coordinator} has spent ε = {spent.epsilon:g} of {config.max_epsilon:g}: "
                f"another answer costs {cost:g}"
            )

    def _release(self, answer: dict[str, Any], teacher_id: str, spent: Spent) -> dict[str, Any]:
        """The answer with no more lessons than the coordinator's lesson budget has left."""
        budget = self.config.max_lessons
        lessons = answer.get("candidates", [])
        if budget is None or len(lessons) <= budget - spent.lessons:
            return answer
        kept = max(0, budget - spent.lessons)
        reason = f"{len(lessons) - kept} lessons withheld: the lesson budget ({budget}) is spent"
        dropped = [*answer.get("dropped", []), drop(teacher_id, reason)]
        return {**answer, "candidates": lessons[:kept], "dropped": dropped}

    def _spent_so_far(self) -> dict[str, Spent]:
        """Each coordinator's spending, read back from the journal (budgets outlive restarts)."""
        spent: dict[str, Spent] = {}
        if self.config.journal is None or not Path(self.config.journal).is_file():
            return spent
        lines = Path(self.config.journal).read_text(encoding="utf-8").splitlines()
        for entry in map(json.loads, filter(None, lines)):
            charge(spent.setdefault(entry.get("coordinator", ANYONE), Spent()), entry)
        return spent

    def record(self, **entry: Any) -> None:
        """Append one request to the journal, if the service keeps one."""
        if self.config.journal is None:
            return
        path = Path(self.config.journal)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"time": time.time(), **entry}) + "\n")


def charge(spent: Spent, entry: dict[str, Any]) -> None:
    """Add a journaled request to what its coordinator has spent (refused ones cost nothing)."""
    if entry.get("outcome") == "refused":
        return
    spent.requests += 1
    spent.lessons += int(entry.get("lessons", 0))
    spent.epsilon += float(entry.get("epsilon", 0.0))


def attempt(
    request: str, teacher_id: str, step: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], str]:
    """`step`'s answer and "served"; a refusal or a failure as a drop whose reason names no
    private text, and "refused" or "failed"."""
    try:
        return step(), "served"
    except (ServiceRequestError, ValidationError) as exc:
        return {"dropped": [drop(teacher_id, f"the service refused: {exc}")]}, "refused"
    except Exception as exc:  # reported, not raised: the run goes on
        log.exception("teacher service: %s request failed", request)
        reason = f"the teacher service failed ({type(exc).__name__}; see its log)"
        return {"dropped": [drop(teacher_id, reason)]}, "failed"


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
