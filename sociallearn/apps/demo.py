"""The main job: teach a student with both of the paper's methods and show what it learned.

One experiment through the harness, on the tuning part of the SMS data: 0-shot, the original
examples (the upper bar, which leaks them), instructions and synthetic examples as the preset
configures them, each on the same held-out messages in every run, 3 runs, with the mean and a
95% interval over runs, the share of the 0-shot → original gap each method recovers, the test
against the original examples, and the paper's numbers beside them. llama.cpp's CPU arithmetic
differs between machines, so one seed's numbers do not carry over: the interval is the result.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sociallearn.engine.pool import ModelPool
from sociallearn.experiments.report import PAPER, method_name
from sociallearn.experiments.runner import ExperimentResult, MethodSummary, run_experiment
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.teaching.settings import Settings, TeachSettings

console = Console(soft_wrap=True)
DEMO_EVAL_SIZE = 50  # held-out messages a run: 3 runs of the paper preset take about 18 minutes
GOAL = 0.9  # the share of the 0-shot → original gap our best method should recover
COLUMNS = ("method", "accuracy, mean [95% interval]", "runs", "gap recovered", "p vs original",
           "paper (PaLM 2-S)")  # fmt: skip


def demo_spec(settings: Settings, *, runs: int, eval_size: int) -> ExperimentSpec:
    """The demo's experiment: the run settings, both bars, instructions, and synthetic
    examples aggregated as `settings` say."""
    synthetic = MethodSpec.model_validate(
        {
            "method": "synthetic_examples",
            "aggregator": "random" if settings.aggregator == "random" else "voting",
            "balanced": settings.balanced_generation or settings.aggregator == "balanced_voting",
            "checked": settings.teacher_check,
        }
    )
    methods = [MethodSpec.parse(m) for m in ("zero_shot", "original_examples", "instructions")]
    shared = settings.model_dump(include=set(TeachSettings.model_fields))
    shared["test_size"] = eval_size
    return ExperimentSpec.model_validate(
        {**shared, "name": "demo", "methods": [*methods, synthetic], "runs": runs}
    )


def demo_rows(result: ExperimentResult) -> list[tuple[str, ...]]:
    """One row per method: name, mean [interval], the runs, the gap recovered, the p-value
    against the original examples, and the paper's number."""
    paper = PAPER.get(result.spec.task, {})
    rows: list[tuple[str, ...]] = []
    for summary in result.summaries:
        interval = summary.interval
        spread = (
            f" [{100 * interval.low:.1f}, {100 * interval.high:.1f}]" if summary.runs > 1 else ""
        )
        bar = summary.method in ("zero_shot", "original_examples")
        gap = "" if bar or summary.recovered_gap is None else f"{summary.recovered_gap:+.2f}"
        p = "" if summary.p_value is None else f"{summary.p_value:.2g}"
        reference = paper.get(summary.method.split("+")[0])
        rows.append((
            method_name(summary.method), f"{100 * interval.mean:.1f}{spread}",
            ", ".join(f"{100 * a:.0f}" for a in summary.accuracies), gap, p,
            "" if reference is None else f"{reference}",
        ))  # fmt: skip
    return rows


def best_method(result: ExperimentResult) -> MethodSummary | None:
    """Our best method in the demo: its last, the synthetic examples as the preset runs them."""
    return result.summary(result.spec.methods[-1].label)


def verdict(result: ExperimentResult) -> str:
    """What the demo shows, plainly: the gap, and whether our best method recovered at least
    `GOAL` of it over the runs."""
    zero, original, best = (
        result.summary("zero_shot"), result.summary("original_examples"), best_method(result)
    )  # fmt: skip
    if zero is None or original is None or best is None or best.recovered_gap is None:
        return "not every method ran: no gap to report"
    gap = 100 * (original.interval.mean - zero.interval.mean)
    reached = "reached" if best.recovered_gap >= GOAL else "not reached"
    p = f"p = {best.p_value:.2g}" if best.p_value is not None else "no test"
    return (
        f"{method_name(best.method)} recovered {best.recovered_gap:+.2f} of the {gap:.1f}-point "
        f"gap from 0-shot to the original examples over {best.runs} runs (goal ≥ {GOAL}: "
        f"{reached}); against the original examples {p}."
    )


def run_demo(
    settings: Settings,
    *,
    runs: int = 3,
    eval_size: int = DEMO_EVAL_SIZE,
    json_path: Path | None = None,
) -> ExperimentResult:
    """Run the demo experiment (cells resume from `<library>/../demo`) and print its table."""
    spec = demo_spec(settings, runs=runs, eval_size=eval_size)
    console.print(
        f"task {spec.task}; teacher {spec.teacher_model}, student {spec.student_model}; "
        f"m={spec.teachers} teachers, n={spec.shots} shots, {spec.calibration} calibration; "
        f"{runs} runs (seeds {spec.seeds}), {eval_size} held-out messages each"
    )
    started = time.monotonic()
    out_dir = Path(settings.library).parent / "demo"
    models = ModelPool(n_gpu_layers=spec.n_gpu_layers, served=spec.served_options())
    result = run_experiment(spec, models=models, out_dir=out_dir)
    table = Table(*COLUMNS, title=f"Student accuracy (%) on {spec.task}, tuning part")
    for row in demo_rows(result):
        table.add_row(*row)
    console.print(table)
    console.print(verdict(result))
    console.print(f"{(time.monotonic() - started) / 60:.1f} min")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(json.loads(result.model_dump_json()), indent=1))
    return result
