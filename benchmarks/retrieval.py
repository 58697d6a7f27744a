"""Retrieval vs a fixed lesson: does reading the nearest lessons per query help the student?

Teaches several runs into one library (same data split, different sampling temperatures), then
scores the student on the same held-out examples with (a) each run's fixed aggregated lessons
and (b) the k lessons nearest to each query, retrieved from the whole library. Side by side in
one process; writes benchmarks/results/retrieval.json.

    .venv/bin/python benchmarks/retrieval.py --runs 4 --eval-size 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from scipy.stats import binomtest
from tqdm import tqdm

from sociallearn.engine import get_engine
from sociallearn.graphs.context import Context
from sociallearn.nodes.resources import library_of, split_of
from sociallearn.nodes.student import Student, build_prompt, prompt_from_lessons
from sociallearn.retrieval import retrieve
from sociallearn.tasks import Example
from sociallearn.teaching import teach

console = Console()
TEMPERATURES = (0.5, 0.7, 0.9, 1.1, 1.3, 1.5)


def correctness(
    student: Student, preambles: list[str], test: list[Example], desc: str
) -> list[bool]:
    """Per example: is the student right with that example's preamble?"""
    return [
        student.task.is_correct(student.answer(preamble, example.input).answer, example)
        for preamble, example in tqdm(
            list(zip(preambles, test, strict=True)), desc=desc, leave=False
        )
    ]


def mcnemar(a: list[bool], b: list[bool]) -> float:
    """Exact McNemar p-value for paired correctness (two-sided binomial on discordant pairs)."""
    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    if only_a + only_b == 0:
        return 1.0
    return float(binomtest(only_a, only_a + only_b, 0.5).pvalue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--eval-size", type=int, default=200)
    parser.add_argument("-k", type=int, default=8, help="lessons retrieved per query")
    parser.add_argument("--teachers", type=int, default=4)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--keep", type=int, default=8)
    parser.add_argument("--lessons", type=int, default=8)
    parser.add_argument("--model", default="smollm2", help="teacher and student")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--library", default=None, help="default: a fresh temporary folder")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/retrieval.json"))
    args = parser.parse_args()
    if not 1 <= args.runs <= len(TEMPERATURES):
        parser.error(f"--runs must be 1..{len(TEMPERATURES)}")

    folder = args.library or tempfile.mkdtemp(prefix="retrieval-library-")
    context = Context(
        task="sms_spam",
        teachers=args.teachers,
        samples=args.samples,
        keep=args.keep,
        lessons=args.lessons,
        teacher_model=args.model,
        student_model=args.model,
        test_size=max(200, args.eval_size),
        seed=args.seed,
        library=folder,
    )
    split = split_of(context)
    task, test = split.task, split.test[: args.eval_size]
    library = library_of(context)
    student = Student(get_engine(args.model), task)
    started = time.time()
    runs: list[dict[str, Any]] = []
    for index, temperature in enumerate(TEMPERATURES[: args.runs]):
        state = teach(replace(context, temperature=temperature), run_id=f"retrieval-{index}")
        runs.append(
            {"run_id": state["run_id"], "temperature": temperature, "published": state["published"]}
        )
        console.print(f"taught run {index} (τ={temperature}): {len(state['published'])} lessons")
    teach_seconds = time.time() - started

    rows: dict[str, dict[str, Any]] = {}
    correct: dict[str, list[bool]] = {}

    def record(name: str, preambles: list[str], started: float, **extra: Any) -> None:
        correct[name] = correctness(student, preambles, test, name)
        accuracy = sum(correct[name]) / len(test)
        rows[name] = {
            "accuracy": accuracy,
            "n": len(test),
            "seconds": time.time() - started,
            **extra,
        }
        console.print(f"{name:>24}: {100 * accuracy:5.1f}% on {len(test)}")

    record("0-shot", [build_prompt(task)] * len(test), time.time())
    for run in runs:
        lessons = library.get(run["published"])
        preamble = prompt_from_lessons(task, lessons)
        record(f"fixed {run['run_id']}", [preamble] * len(test), time.time(), lessons=len(lessons))
    started = time.time()
    retrieved = [retrieve(library, task.name, example.input, args.k) for example in test]
    agreement = [
        sum(lesson.answer == example.answer for lesson in lessons) / max(1, len(lessons))
        for lessons, example in zip(retrieved, test, strict=True)
    ]
    record(
        f"retrieval k={args.k}",
        [prompt_from_lessons(task, lessons) for lessons in retrieved],
        started,
        label_agreement=sum(agreement) / len(agreement),
    )

    fixed = [name for name in rows if name.startswith("fixed")]
    fixed_mean = sum(rows[name]["accuracy"] for name in fixed) / len(fixed)
    retrieval = f"retrieval k={args.k}"
    latest = fixed[-1]
    comparison = {
        "retrieval_minus_fixed_mean": rows[retrieval]["accuracy"] - fixed_mean,
        "retrieval_minus_latest": rows[retrieval]["accuracy"] - rows[latest]["accuracy"],
        "mcnemar_p_vs_latest": mcnemar(correct[retrieval], correct[latest]),
        "mcnemar_p_vs_each_fixed": {
            name: mcnemar(correct[retrieval], correct[name]) for name in fixed
        },
    }
    table = Table(
        "condition",
        "accuracy",
        "n",
        title=f"sms_spam, {args.model}, {args.runs} runs in the library",
    )
    for name, row in rows.items():
        table.add_row(name, f"{100 * row['accuracy']:.1f}%", str(row["n"]))
    table.add_row("fixed (mean of runs)", f"{100 * fixed_mean:.1f}%", str(len(test)))
    console.print(table)
    console.print(
        f"retrieval − fixed mean: {100 * comparison['retrieval_minus_fixed_mean']:+.1f} points; "
        f"vs latest run {100 * comparison['retrieval_minus_latest']:+.1f} points "
        f"(McNemar p={comparison['mcnemar_p_vs_latest']:.3f}); retrieved lessons sharing the "
        f"query's gold label: {100 * rows[retrieval]['label_agreement']:.1f}%"
    )
    summary = {
        "task": task.name,
        "model": args.model,
        "runs": runs,
        "library_lessons": library.count(),
        "settings": {
            "teachers": args.teachers,
            "samples": args.samples,
            "keep": args.keep,
            "lessons": args.lessons,
            "k": args.k,
            "eval_size": len(test),
            "seed": args.seed,
        },
        "teach_seconds": teach_seconds,
        "results": rows,
        "fixed_mean_accuracy": fixed_mean,
        "comparison": comparison,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
