"""One harness for every measurement: a cell is one method on one run (seed), taught and tested.

`cell_settings` turns a spec and a method into a run's settings; `teach_cell` gives the
student's prompt for them (a baseline's directly, a teaching method's through the
social-learning graph and the library); `run_cell` evaluates the student on the run's test
examples. The demo, the paper tables, the privacy measurement (which scores canaries on the
taught prompt) and the retrieval benchmark all go through here.

`instructions` is written by one teacher from the same n examples that `original_examples`
shows, so the two differ only in what reaches the student. Synthetic examples come from m
teachers that split the data at random.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from pydantic import BaseModel, Field

from sociallearn.apps.run import teach
from sociallearn.core.schema import Lesson
from sociallearn.engine.pool import ModelPool
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.teaching.context import Context
from sociallearn.teaching.evaluate import Prediction, evaluate
from sociallearn.teaching.methods import get_method
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.roles import check_likelihoods
from sociallearn.teaching.settings import Settings, TeachSettings
from sociallearn.teaching.student import Student, prompt_from_lessons


class CellResult(BaseModel):
    """One method on one run (seed): the student's every prediction, and what it was taught."""

    task: str
    method: str
    seed: int
    key: str  # hash of the settings the cell depends on
    accuracy: float
    n: int
    seconds: float
    cpu_seconds: float  # CPU time of the process, all threads (other jobs excluded)
    predictions: list[Prediction]
    lessons: list[str] = Field(default_factory=list)  # published lessons the student read
    teachers_dropped: int = 0
    # `+refined`: teacher id → the student's held-back accuracy with each round's drafts
    held_out_accuracy: dict[str, list[float]] = Field(default_factory=dict)
    # `+refined`: teacher id → its acceptance check (`refining.accept`)
    acceptance: dict[str, dict[str, float]] = Field(default_factory=dict)
    # A final evaluation's: how many times this cell has been evaluated on the locked part,
    # this one included (more than 1 only when forced); 0 on the tuning part.
    final_evaluations: int = 0


@dataclass
class Taught:
    """What a cell taught: the student's prompt, the lessons in it, and the run's resources."""

    preamble: str
    resources: Resources
    lessons: list[Lesson] = field(default_factory=list)
    teachers_dropped: int = 0
    held_out_accuracy: dict[str, list[float]] = field(default_factory=dict)
    acceptance: dict[str, dict[str, float]] = field(default_factory=dict)


def cell_settings(
    shared: TeachSettings, method: MethodSpec, seed: int, library: str | Path, **changes: Any
) -> Settings:
    """The settings of `method` on run `seed`: one teacher where the method asks for it."""
    values = shared.model_dump(include=set(TeachSettings.model_fields))
    values |= {
        "seed": seed,
        "teachers": 1 if method.one_teacher else shared.teachers,
        "library": str(library),
        "collection": f"experiment-{shared.task}",
        **method.settings(),
        **changes,
    }
    return Settings.model_validate(values)


def teach_cell(
    settings: Settings,
    models: ModelPool,
    *,
    run_id: str | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
) -> Taught:
    """The student's prompt for these settings: a baseline's, or the taught lessons'."""
    resources = Resources(settings, models=models)
    check_likelihoods(resources, student_answers=True)  # the student answers the test set
    method = get_method(settings.method)
    if not method.teaches:
        silo = resources.split.silos["teacher-0"]
        return Taught(method.baseline_prompt(resources.task, silo, settings), resources)
    state = teach(
        Context(settings=settings, resources=resources),
        run_id=run_id,
        checkpointer=checkpointer,
        thread_id=run_id,
    )
    lessons = resources.library.get(state.get("published", []))
    return Taught(
        prompt_from_lessons(resources.task, lessons),
        resources,
        lessons,
        len(state.get("dropped", [])),
        dict(state.get("held_out_accuracy", {})),
        dict(state.get("acceptance", {})),
    )


def run_cell(
    spec: ExperimentSpec,
    method: MethodSpec,
    seed: int,
    models: ModelPool,
    *,
    out_dir: Path,
    checkpointer: BaseCheckpointSaver | None = None,
    progress: bool = False,
) -> CellResult:
    """Teach (unless a baseline) and evaluate one method on one run."""
    started, cpu_started = time.time(), time.process_time()
    key = spec.cell_key(method, seed)
    settings = cell_settings(spec, method, seed, out_dir / "library")
    taught = teach_cell(settings, models, run_id=key, checkpointer=checkpointer)
    resources = taught.resources
    student = Student.for_settings(resources.student_model, resources.task, spec)
    result = evaluate(
        student, taught.preamble, resources.split.test, progress=progress, desc=method.label
    )
    return CellResult(
        task=spec.task,
        method=method.label,
        seed=seed,
        key=key,
        accuracy=result.accuracy,
        n=result.n,
        seconds=time.time() - started,
        cpu_seconds=time.process_time() - cpu_started,
        predictions=result.predictions,
        lessons=[lesson.text for lesson in taught.lessons],
        teachers_dropped=taught.teachers_dropped,
        held_out_accuracy=taught.held_out_accuracy,
        acceptance=taught.acceptance,
    )
