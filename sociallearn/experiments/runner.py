"""Run an experiment: every method × run is a cell (`harness.run_cell`), then a summary.

Each finished cell is saved as JSON under `out_dir/cells/`; an interrupted experiment resumes
from there (and an interrupted graph run from its SQLite checkpoint). A final evaluation (the
spec's `final`: tests on the locked part of the data) records every cell it computes in a
ledger (`ledger.FinalLedger`) and computes none twice unless forced.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel, ValidationError
from tqdm import tqdm

from sociallearn.apps.lifecycle import checkpoint_serializer
from sociallearn.engine.pool import ModelPool
from sociallearn.experiments.harness import CellResult, run_cell
from sociallearn.experiments.ledger import (
    LEDGER_NAME,
    AlreadyEvaluated,
    FinalEvaluation,
    FinalLedger,
)
from sociallearn.experiments.spec import DEFAULT_OUT, ExperimentSpec, MethodSpec
from sociallearn.experiments.stats import (
    Interval,
    mean_interval,
    permutation_p_value,
    recovered_gap,
)

SIGNIFICANCE = 0.05


class MethodSummary(BaseModel):
    """One method over all runs, compared with the original-examples upper bar."""

    method: str
    runs: int
    accuracies: list[float]
    interval: Interval
    p_value: float | None = None  # permutation test against original_examples
    p_vs_zero_shot: float | None = None  # permutation test against zero_shot
    extends: str | None = None  # the method this one improves on (`MethodSpec.extends`)
    p_vs_extended: float | None = None  # permutation test against `extends`
    significant: bool | None = None  # p < 0.05
    recovered_gap: float | None = None  # (method − 0-shot) / (original − 0-shot)
    seconds: float  # wall-clock, summed over the method's cells
    cpu_seconds: float


class ExperimentResult(BaseModel):
    """Settings, per-example predictions of every cell, and the per-method summary."""

    spec: ExperimentSpec
    # The data the student was tested on: the tuning part, the locked part (a final
    # evaluation), or all of it (results written before the data was split).
    test_part: Literal["all", "tuning", "locked"] = "all"
    planned_cells: int  # methods × runs; more than len(cells) when a time budget ran out
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
    models: ModelPool | None = None,
    out_dir: Path = DEFAULT_OUT,
    resume: bool = True,
    progress: bool = True,
    deadline: float | None = None,
    reuse: Sequence[CellResult] = (),
    ledger: FinalLedger | None = None,
    force_final: bool = False,
) -> ExperimentResult:
    """Run (or resume) every cell of `spec` and summarise it.

    Models come from `models` (share one pool between experiments of one process). With a
    `deadline` (a `time.time()` value), no new cell starts after it: the result holds the cells
    done so far (whole runs first: cells go run by run) and says how many were planned. When
    resuming, finished cells come from `out_dir` or from `reuse` (e.g. a committed results
    file's, `report.finished_cells`) where their key matches: the same settings, method, seed.
    A final evaluation records its cells in `ledger` (default `out_dir/final_ledger.jsonl`)
    and raises `AlreadyEvaluated`, before computing anything, for a cell the ledger holds and
    no finished cell gives, unless `force_final` (which evaluates every such cell again).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    cells_dir = out_dir / "cells" / spec.task
    cells_dir.mkdir(parents=True, exist_ok=True)
    plan = [(seed, method) for seed in spec.seeds for method in spec.methods]
    if spec.final:
        ledger = ledger or FinalLedger(out_dir / LEDGER_NAME)
    reusable = {cell.key: cell for cell in reuse}
    # Read once: a run computes each cell at most once, so what it records itself never
    # changes what it reads here.
    evaluated = ledger.by_key() if ledger is not None else {}

    def cell_path(seed: int, method: MethodSpec) -> Path:
        return cells_dir / f"{method.label}-seed{seed}-{spec.cell_key(method, seed)}.json"

    def finished(seed: int, method: MethodSpec) -> CellResult | None:
        key = spec.cell_key(method, seed)
        if not resume or (force_final and key in evaluated):
            return None
        return _read_cell(cell_path(seed, method)) or reusable.get(key)

    if ledger is not None and not force_final and (deadline is None or time.time() <= deadline):
        _refuse_evaluated_again(spec, plan, ledger.path, evaluated, finished)
    models = models or ModelPool(n_gpu_layers=spec.n_gpu_layers, served=spec.served_options())
    connection = sqlite3.connect(out_dir / "checkpoints.sqlite", check_same_thread=False)
    cells: list[CellResult] = []
    try:
        saver = SqliteSaver(connection, serde=checkpoint_serializer())
        bar = tqdm(plan, desc=f"{spec.name} ({spec.task})", disable=not progress, unit="cell")
        for seed, method in bar:
            key, path = spec.cell_key(method, seed), cell_path(seed, method)
            cell = finished(seed, method)
            if cell is not None:
                if not path.is_file():
                    _write_atomically(path, cell.model_dump_json(indent=1))  # for the next call
                cells.append(cell)
                continue
            if deadline is not None and time.time() > deadline:
                continue  # out of time: later calls resume from the finished cells
            recorded = len(evaluated.get(key, []))
            if not resume or recorded:
                saver.delete_thread(key)  # teach again, not replay
            bar.set_postfix_str(f"{method.label}, seed {seed}")
            cell = run_cell(
                spec, method, seed, models, out_dir=out_dir, checkpointer=saver, progress=progress
            )
            if ledger is not None:
                ledger.record(
                    key=key, task=spec.task, method=method.label, seed=seed,
                    accuracy=cell.accuracy, n=cell.n, forced=recorded > 0,
                )  # fmt: skip
                cell.final_evaluations = recorded + 1
            _write_atomically(path, cell.model_dump_json(indent=1))
            cells.append(cell)
    finally:
        connection.close()
    return ExperimentResult(
        spec=spec,
        test_part="locked" if spec.final else "tuning",
        planned_cells=len(plan),
        test_size=cells[0].n if cells else 0,
        summaries=summarise(spec, cells),
        cells=cells,
        seconds=sum(c.seconds for c in cells),
        cpu_seconds=sum(c.cpu_seconds for c in cells),
        cpu_count=os.cpu_count(),
        load_average=os.getloadavg() if hasattr(os, "getloadavg") else None,
    )


def _refuse_evaluated_again(
    spec: ExperimentSpec,
    plan: Sequence[tuple[int, MethodSpec]],
    ledger_path: Path,
    evaluated: dict[str, list[FinalEvaluation]],
    finished: Callable[[int, MethodSpec], CellResult | None],
) -> None:
    """Raise `AlreadyEvaluated` naming the planned cells that the ledger records as evaluated on
    the locked part and that no finished cell gives (they would be evaluated again)."""
    again = []
    for seed, method in plan:
        recorded = evaluated.get(spec.cell_key(method, seed), [])
        if recorded and finished(seed, method) is None:
            last = recorded[-1]
            again.append(f"{method.label} (seed {seed}): {100 * last.accuracy:.1f}% on {last.at}")
    if again:
        raise AlreadyEvaluated(
            f"already evaluated on the locked test part ({ledger_path}): "
            + "; ".join(again)
            + ". Its results are the ones to report; to evaluate this configuration again "
            "(recorded as forced), pass --force-final"
        )


def finished_so_far(
    spec: ExperimentSpec, *, out_dir: Path = DEFAULT_OUT, reuse: Sequence[CellResult] = ()
) -> ExperimentResult:
    """Every finished cell of `spec`, from `out_dir` or `reuse`, computing none: what a results
    file written part-way through holds, so that it keeps the later runs it was resumed from."""
    return run_experiment(spec, out_dir=out_dir, progress=False, deadline=0.0, reuse=reuse)


def summarise(spec: ExperimentSpec, cells: Sequence[CellResult]) -> list[MethodSummary]:
    """Per method: mean and 95% interval over runs, p-value and recovered gap vs the bars."""
    methods = {m.label: m for m in spec.methods}
    by_method = {
        m.label: sorted((c for c in cells if c.method == m.label), key=lambda c: c.seed)
        for m in spec.methods
    }
    against_original = p_values_against(
        cells, "original_examples", permutations=spec.permutations, seed=spec.seed
    )
    against_zero_shot = p_values_against(
        cells, "zero_shot", permutations=spec.permutations, seed=spec.seed
    )
    against_extended = p_values_against_extended(spec, cells)
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
        if (p := against_original.get(label)) is not None:
            summary.p_value, summary.significant = p, p < SIGNIFICANCE
        summary.p_vs_zero_shot = against_zero_shot.get(label)
        summary.extends = methods[label].extends
        summary.p_vs_extended = against_extended.get(label)
        summary.recovered_gap = gap_on_runs(group, by_method)
        summaries.append(summary)
    return summaries


def gap_on_runs(
    group: Sequence[CellResult], by_method: dict[str, list[CellResult]]
) -> float | None:
    """The gap `group` recovers, with 0-shot and the original examples averaged over the runs
    `group` has (a method with fewer runs is not measured against other runs' bars); None
    without both bars on every one of those runs."""
    seeds = {c.seed for c in group}
    bars = []
    for bar in ("zero_shot", "original_examples"):
        on_runs = [c.accuracy for c in by_method.get(bar, []) if c.seed in seeds]
        if len(on_runs) != len(seeds):
            return None
        bars.append(sum(on_runs) / len(on_runs))
    return recovered_gap(sum(c.accuracy for c in group) / len(group), *bars)


def p_values_against(
    cells: Sequence[CellResult], reference: str, *, permutations: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """Per method, the paired permutation test's p-value against the `reference` method on the
    same (run, test example) pairs; none where the reference has no cells."""
    reference_cells = [c for c in cells if c.method == reference]
    if not reference_cells:
        return {}
    p_values = {}
    for method in dict.fromkeys(c.method for c in cells if c.method != reference):
        p = paired_p_value(
            [c for c in cells if c.method == method], reference_cells, permutations, seed
        )
        if p is not None:
            p_values[method] = p
    return p_values


def p_values_against_extended(
    spec: ExperimentSpec, cells: Sequence[CellResult]
) -> dict[str, float]:
    """Per method that extends another (`MethodSpec.extends`), the paired permutation test's
    p-value against that method; none where either has no cells or no run in common."""
    p_values = {}
    for method in spec.methods:
        if method.extends is None:
            continue
        p = paired_p_value(
            [c for c in cells if c.method == method.label],
            [c for c in cells if c.method == method.extends],
            spec.permutations,
            spec.seed,
        )
        if p is not None:
            p_values[method.label] = p
    return p_values


def paired_p_value(
    group: Sequence[CellResult],
    reference_cells: Sequence[CellResult],
    permutations: int,
    seed: int,
) -> float | None:
    """The paired permutation test of `group` against `reference_cells`; None without a run in
    common."""
    ours, theirs = _paired_outcomes(group, reference_cells)
    if not ours:
        return None
    return permutation_p_value(ours, theirs, n_resamples=permutations, seed=seed)


def _paired_outcomes(
    group: Sequence[CellResult], reference_cells: Sequence[CellResult]
) -> tuple[list[float], list[float]]:
    """Correctness of both methods on the same (run, test example) pairs."""
    reference = {c.seed: c for c in reference_cells}
    ours: list[float] = []
    theirs: list[float] = []
    for cell in group:
        other = reference.get(cell.seed)
        if other is None:
            continue
        if [p.input for p in cell.predictions] != [p.input for p in other.predictions]:
            raise ValueError(
                f"{cell.method} and {other.method} saw different tests in run {cell.seed}"
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
