"""Which embedded model is the better teacher, and which the better student? Measured.

Every (teacher, student) pair of the chosen models (default smollm2, SmolLM2-135M-Instruct,
and gemma3, Gemma 3 270M base) on SMS spam: the baselines (which depend on the student only),
instructions, and synthetic examples (free-form and class-balanced); plus the Random Insertion
baselines per student. Side by side in one process; writes
benchmarks/results/model_roles.json, and resumes from it.

    .venv/bin/python -m benchmarks.model_roles            # about 30 min on 2 idle cores
    .venv/bin/python -m benchmarks.model_roles --models smollm2 gemma3 qwen1.5b --budget-minutes 60
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sociallearn.engine import ModelPool
from sociallearn.experiments.report import finished_cells, method_name, output_paths, write_json
from sociallearn.experiments.runner import ExperimentResult, run_experiment
from sociallearn.experiments.spec import ExperimentSpec, parse_methods

MODELS = ["smollm2", "gemma3"]
RESULTS = Path(__file__).parent / "results"
console = Console()


def specs(test_size: int, runs: int, models: list[str]) -> list[ExperimentSpec]:
    """One SMS spam spec per (teacher, student), one Random Insertion baseline spec per student."""
    sms = [
        ExperimentSpec(
            name=f"sms_spam {teacher}→{student}",
            task="sms_spam",
            methods=parse_methods(
                [
                    "zero_shot",
                    "original_examples",
                    "instructions",
                    "synthetic_examples+random",
                    "synthetic_examples+random+balanced",
                ]
            ),
            teachers=4,
            samples=8,
            keep=4,
            lessons=8,
            test_size=test_size,
            runs=runs,
            teacher_model=teacher,
            student_model=student,
        )
        for student in models
        for teacher in models
    ]
    insertion = [
        ExperimentSpec(
            name=f"random_insertion {student}",
            task="random_insertion",
            methods=parse_methods(["zero_shot", "original_examples"]),
            test_size=test_size,
            runs=runs,
            student_model=student,
        )
        for student in models
    ]
    return sms + insertion


def show(results: list[ExperimentResult]) -> None:
    table = Table("task", "teacher → student", "method", "accuracy per run", "mean [95% CI]")
    for r in results:
        for s in r.summaries:
            table.add_row(
                r.spec.task,
                f"{r.spec.teacher_model} → {r.spec.student_model}",
                method_name(s.method),
                ", ".join(f"{100 * a:.1f}" for a in s.accuracies),
                f"{100 * s.interval.mean:.1f} [{100 * s.interval.low:.1f}, "
                f"{100 * s.interval.high:.1f}]",
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-size", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(".sociallearn/experiments/model_roles"))
    parser.add_argument("--results", type=Path, default=RESULTS / "model_roles")
    parser.add_argument("--models", nargs="+", default=MODELS, help="embedded models or GGUFs")
    parser.add_argument("--budget-minutes", type=float, default=None, help="start no cell after")
    args = parser.parse_args()
    started = time.time()
    deadline = started + 60 * args.budget_minutes if args.budget_minutes is not None else None
    models = ModelPool()
    json_path = output_paths(args.results)[0]
    finished = finished_cells(json_path)  # a fresh clone resumes from these
    results = [
        run_experiment(spec, models=models, out_dir=args.out, deadline=deadline, reuse=finished)
        for spec in specs(args.test_size, args.runs, args.models)
    ]
    show(results)
    write_json(results, json_path)
    console.print(f"{(time.time() - started) / 60:.1f} min; wrote {json_path}")


if __name__ == "__main__":
    main()
