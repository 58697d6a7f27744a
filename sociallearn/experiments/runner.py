"""Run an experiment: every method × run is a cell, taught through the graph and evaluated.

Baselines need no teaching: `zero_shot` prompts the student with the task statement only, and
`original_examples` with n of one teacher's private examples (the upper bar, which leaks them).
Every other method runs `teach()` (the social-learning graph) and the student reads the
published lessons back from the library. All methods are evaluated by the same `Student` and
`evaluate` code on the same test examples of each run.

`instructions` is written by one teacher (m = 1) from the same n examples that
`original_examples` shows, so the two differ only in what reaches the student. Synthetic
examples come from m teachers that split the data at random.

Each finished cell is saved as JSON under `out_dir/cells/`; an interrupted experiment resumes
from there (and an interrupted graph run from its SQLite checkpoint).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel, Field, ValidationError
from tqdm import tqdm

from sociallearn.evaluate import Prediction, evaluate
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.experiments.stats import (
    Interval,
    mean_interval,
    permutation_p_value,
    recovered_gap,
)
from sociallearn.graphs.context import Context
from sociallearn.lifecycle import checkpoint_serializer
from sociallearn.nodes.resources import library_of, split_of, student_engine
from sociallearn.nodes.student import Student, build_prompt, prompt_from_lessons
from sociallearn.teaching import teach

DEFAULT_OUT = Path(".sociallearn/experiments")
SIGNIFICANCE = 0.05


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


class MethodSummary(BaseModel):
    """One method over all runs, compared with the original-examples upper bar."""

    method: str
    runs: int
    accuracies: list[float]
    interval: Interval
    p_value: float | None = None  # permutation test against original_examples
    significant: bool | None = None  # p < 0.05
    recovered_gap: float | None = None  # (method − 0-shot) / (original − 0-shot)
    seconds: float  # wall-clock, summed over the method's cells
    cpu_seconds: float


class ExperimentResult(BaseModel):
    """Settings, per-example predictions of every cell, and the per-method summary."""

    spec: ExperimentSpec
    test_size: int  # test examples per run
    summaries: list[MethodSummary]
    cells: list[CellResult]
    seconds: float  # wall-clock time of the cells, summed (as they ran, perhaps in other calls)
    cpu_seconds: float  # CPU time of the cells, summed
    cpu_count: int | None
    load_average: tuple[float, float, float] | None  # at the end: other jobs on the machine

    def summary(self, method: str) -> MethodSummary | None:
        return next((s for s in self.summaries if s.method == method), None)


def run_experiment(
    spec: ExperimentSpec,
    *,
    out_dir: Path = DEFAULT_OUT,
    resume: bool = True,
    progress: bool = True,
) -> ExperimentResult:
    """Run (or resume) every cell of `spec` and summarise it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cells_dir = out_dir / "cells" / spec.task
    cells_dir.mkdir(parents=True, exist_ok=True)
    plan = [(seed, method) for seed in spec.seeds for method in spec.methods]
    connection = sqlite3.connect(out_dir / "checkpoints.sqlite", check_same_thread=False)
    cells: list[CellResult] = []
    try:
        saver = SqliteSaver(connection, serde=checkpoint_serializer())
        bar = tqdm(plan, desc=f"{spec.name} ({spec.task})", disable=not progress, unit="cell")
        for seed, method in bar:
            path = cells_dir / f"{method.label}-seed{seed}-{spec.cell_key(method, seed)}.json"
            if resume and (cell := _read_cell(path)) is not None:
                cells.append(cell)
                continue
            bar.set_postfix_str(f"{method.label}, seed {seed}")
            cell = run_cell(spec, method, seed, out_dir=out_dir, saver=saver, progress=progress)
            _write_atomically(path, cell.model_dump_json(indent=1))
            cells.append(cell)
    finally:
        connection.close()
    return ExperimentResult(
        spec=spec,
        test_size=cells[0].n if cells else 0,
        summaries=summarise(spec, cells),
        cells=cells,
        seconds=sum(c.seconds for c in cells),
        cpu_seconds=sum(c.cpu_seconds for c in cells),
        cpu_count=os.cpu_count(),
        load_average=os.getloadavg() if hasattr(os, "getloadavg") else None,
    )


def context_for(spec: ExperimentSpec, method: MethodSpec, seed: int, out_dir: Path) -> Context:
    """The graph's run settings for one cell."""
    single_teacher = method.method != "synthetic_examples"
    return Context(
        task=spec.task,
        data_path=spec.data_path,
        method="instructions" if method.method == "instructions" else "synthetic_examples",
        teachers=1 if single_teacher else spec.teachers,
        shots=spec.shots,
        temperature=spec.temperature,
        samples=spec.samples,
        keep=spec.keep,
        lessons=spec.lessons,
        aggregator=method.aggregator,
        votes_held_out=spec.votes_held_out,
        balanced_generation=method.balanced,
        teacher_check=method.checked,
        teacher_model=spec.teacher_model,
        student_model=spec.student_model,
        library=str(out_dir / "library"),
        collection=f"experiment-{spec.task}",
        test_size=spec.test_size,
        seed=seed,
        max_retries=spec.max_retries,
    )


def run_cell(
    spec: ExperimentSpec,
    method: MethodSpec,
    seed: int,
    *,
    out_dir: Path,
    saver: SqliteSaver | None = None,
    progress: bool = False,
) -> CellResult:
    """Teach (unless a baseline) and evaluate one method on one run."""
    started, cpu_started = time.time(), time.process_time()
    context = context_for(spec, method, seed, out_dir)
    split = split_of(context)
    task = split.task
    lessons: list[str] = []
    dropped = 0
    if method.method == "zero_shot":
        preamble = build_prompt(task)
    elif method.method == "original_examples":
        shots = split.silos["teacher-0"].shots(spec.shots, seed)
        preamble = build_prompt(task, examples=[task.format_example(e) for e in shots])
    else:
        key = spec.cell_key(method, seed)
        state = teach(context, run_id=key, checkpointer=saver, thread_id=key)
        published = library_of(context).get(state.get("published", []))
        preamble = prompt_from_lessons(task, published)
        lessons = [lesson.text for lesson in published]
        dropped = len(state.get("dropped", []))
    student = Student(student_engine(context), task, calibrate=spec.calibrate)
    result = evaluate(student, preamble, split.test, progress=progress, desc=method.label)
    return CellResult(
        task=spec.task,
        method=method.label,
        seed=seed,
        key=spec.cell_key(method, seed),
        accuracy=result.accuracy,
        n=result.n,
        seconds=time.time() - started,
        cpu_seconds=time.process_time() - cpu_started,
        predictions=result.predictions,
        lessons=lessons,
        teachers_dropped=dropped,
    )


def summarise(spec: ExperimentSpec, cells: Sequence[CellResult]) -> list[MethodSummary]:
    """Per method: mean and 95% interval over runs, p-value and recovered gap vs the bars."""
    by_method = {
        m.label: sorted((c for c in cells if c.method == m.label), key=lambda c: c.seed)
        for m in spec.methods
    }
    means = {
        label: mean_interval([c.accuracy for c in group]).mean
        for label, group in by_method.items()
        if group
    }
    original = by_method.get("original_examples") or []
    summaries = []
    for label, group in by_method.items():
        if not group:
            continue
        summary = MethodSummary(
            method=label,
            runs=len(group),
            accuracies=[c.accuracy for c in group],
            interval=mean_interval([c.accuracy for c in group], bounds=(0.0, 1.0)),
            seconds=sum(c.seconds for c in group),
            cpu_seconds=sum(c.cpu_seconds for c in group),
        )
        if original and label != "original_examples":
            ours, theirs = _paired_outcomes(group, original)
            p = permutation_p_value(
                ours, theirs, n_resamples=spec.permutations, seed=spec.first_seed
            )
            summary.p_value, summary.significant = p, p < SIGNIFICANCE
        if "zero_shot" in means and "original_examples" in means:
            summary.recovered_gap = recovered_gap(
                means[label], means["zero_shot"], means["original_examples"]
            )
        summaries.append(summary)
    return summaries


def _paired_outcomes(
    group: Sequence[CellResult], original: Sequence[CellResult]
) -> tuple[list[float], list[float]]:
    """Correctness of both methods on the same (run, test example) pairs."""
    reference = {c.seed: c for c in original}
    ours: list[float] = []
    theirs: list[float] = []
    for cell in group:
        other = reference.get(cell.seed)
        if other is None:
            continue
        if [p.input for p in cell.predictions] != [p.input for p in other.predictions]:
            raise ValueError(
                f"{cell.method} and original_examples saw different tests in run {cell.seed}"
            )
        ours += [float(p.correct) for p in cell.predictions]
        theirs += [float(p.correct) for p in other.predictions]
    return ours, theirs


def _read_cell(path: Path) -> CellResult | None:
    """A finished cell, or None when absent or written by an incompatible version (redone)."""
    if not path.is_file():
        return None
    try:
        return CellResult.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        tqdm.write(f"redoing {path.name}: unreadable ({exc.error_count()} errors)")
        return None


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
