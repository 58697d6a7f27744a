"""The main job: teach a student with both methods and show its accuracy before and after."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sociallearn.engine import get_engine
from sociallearn.evaluate import evaluate
from sociallearn.graphs.context import Context
from sociallearn.nodes.resources import library_of, split_of
from sociallearn.nodes.student import Student, build_prompt, prompt_from_lessons
from sociallearn.teaching import teach

console = Console()


def run_demo(context: Context, *, eval_size: int = 200, json_path: Path | None = None) -> dict:
    """0-shot, original examples, and both social-learning methods on a held-out sample."""
    context = replace(context, test_size=max(context.test_size, eval_size))
    split = split_of(context)
    task = split.task
    test = split.test[:eval_size]
    student = Student(get_engine(context.student_model, context.n_gpu_layers), task)
    rows: dict[str, dict] = {}

    def record(name: str, preamble: str, started: float, **extra: object) -> None:
        result = evaluate(student, preamble, test, progress=True, desc=name)
        rows[name] = {
            "accuracy": result.accuracy,
            "n": result.n,
            "seconds": time.time() - started,
            **extra,
        }
        console.print(f"{name:>20}: {100 * result.accuracy:5.1f}% on {result.n} held-out examples")

    console.print(
        f"task {task.name}; teacher {context.teacher_model}, student {context.student_model}; "
        f"m={context.teachers} teachers, n={context.shots} shots"
    )
    record("0-shot", build_prompt(task), time.time())
    first = next(iter(split.silos.values()))
    originals = [task.format_example(e) for e in first.shots(context.shots, context.seed)]
    record("original examples", build_prompt(task, examples=originals), time.time())
    library = library_of(context)
    for method in ("instructions", "synthetic_examples"):
        started = time.time()
        state = teach(replace(context, method=method))
        lessons = library.get(state.get("published", []))
        record(
            method,
            prompt_from_lessons(task, lessons),
            started,
            run_id=state["run_id"],
            lessons=len(lessons),
            dropped_teachers=len(state.get("dropped", [])),
        )
    table = Table(
        "method",
        "accuracy",
        "n",
        title=f"Student accuracy on {task.name} (paper, PaLM 2-S: 0-shot 14.2, original 96.0, instructions 92.9, synthetic 86.5)",
    )
    for name, row in rows.items():
        table.add_row(name, f"{100 * row['accuracy']:.1f}%", str(row["n"]))
    console.print(table)
    summary = {
        "task": task.name,
        "teacher_model": context.teacher_model,
        "student_model": context.student_model,
        "teachers": context.teachers,
        "shots": context.shots,
        "seed": context.seed,
        "results": rows,
    }
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, indent=2))
    return summary
