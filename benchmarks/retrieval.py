"""Retrieval vs a fixed lesson: does reading the nearest lessons per query help the student?

Teaches several runs into one library (same data split, different sampling temperatures), then
scores the student on the same held-out examples with (a) each run's fixed aggregated lessons
and (b) the k lessons nearest to each query, retrieved from the whole library. Side by side in
one process; writes benchmarks/results/retrieval.json.

    .venv/bin/python -m benchmarks.retrieval --runs 4 --eval-size 200
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from scipy.stats import binomtest
from tqdm import tqdm

from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import cell_settings, teach_cell
from sociallearn.experiments.spec import MethodSpec
from sociallearn.tasks import Example
from sociallearn.teaching.retrieval import retrieve
from sociallearn.teaching.settings import TeachSettings
from sociallearn.teaching.student import Student, build_prompt, prompt_from_lessons

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


def fixed_prompt(preamble: str) -> Callable[[Example], str]:
    """The same preamble for every example."""
    return lambda example: preamble


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
    parser.add_argument(
        "--library",
        default=None,
        help="default: a fresh temporary folder; runs found there are reused",
    )
    parser.add_argument("--zero-shot", action="store_true", help="also score the student 0-shot")
    parser.add_argument("--block", type=int, default=10, help="examples per evaluation block")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop between blocks")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/retrieval.json"))
    args = parser.parse_args()
    if not 1 <= args.runs <= len(TEMPERATURES):
        parser.error(f"--runs must be 1..{len(TEMPERATURES)}")

    folder = args.library or tempfile.mkdtemp(prefix="retrieval-library-")
    shared = TeachSettings(
        task="sms_spam",
        teachers=args.teachers,
        samples=args.samples,
        keep=args.keep,
        lessons=args.lessons,
        teacher_model=args.model,
        student_model=args.model,
        test_size=max(200, args.eval_size),
        seed=args.seed,
    )
    models = ModelPool()
    method = MethodSpec.parse("synthetic_examples+random")
    started = time.time()
    runs: list[dict[str, Any]] = []
    for index, temperature in enumerate(TEMPERATURES[: args.runs]):
        settings = cell_settings(shared, method, args.seed, folder, temperature=temperature)
        taught = teach_cell(settings, models, run_id=f"retrieval-{index}")
        published = [lesson.id for lesson in taught.lessons]
        runs.append(
            {
                "run_id": f"retrieval-{index}",
                "temperature": temperature,
                "published": published,
                "lessons": taught.lessons,
            }
        )
        console.print(f"run {index} (τ={temperature}): {len(published)} lessons")
    teach_seconds = time.time() - started
    resources = taught.resources
    task, test, library = resources.task, resources.split.test[: args.eval_size], resources.library
    student = Student(models.get(args.model), task)

    conditions: dict[str, Callable[[Example], str]] = {}
    if args.zero_shot:
        conditions["0-shot"] = lambda example: build_prompt(task)
    for run in runs:
        preamble = prompt_from_lessons(task, run.pop("lessons"))
        conditions[f"fixed {run['run_id']}"] = fixed_prompt(preamble)
    retrieval = f"retrieval k={args.k}"
    agreement: list[float] = []

    def retrieval_prompt(example: Example) -> str:
        lessons = retrieve(library, task.name, example.input, args.k)
        agreement.append(sum(x.answer == example.answer for x in lessons) / max(1, len(lessons)))
        return prompt_from_lessons(task, lessons)

    conditions[retrieval] = retrieval_prompt
    correct: dict[str, list[bool]] = {name: [] for name in conditions}
    seconds = dict.fromkeys(conditions, 0.0)
    deadline = time.time() + 60 * args.max_minutes if args.max_minutes else float("inf")
    # Blocks of examples, every condition on each block: all conditions stay paired on the same
    # examples, and a time budget stops between blocks with a smaller but complete comparison.
    for begin in range(0, len(test), args.block):
        if time.time() > deadline:
            console.print(f"[yellow]time budget reached after {len(correct[retrieval])} examples")
            break
        block = test[begin : begin + args.block]
        for name, prompt_for in conditions.items():
            clock = time.time()
            correct[name] += correctness(student, [prompt_for(e) for e in block], block, name)
            seconds[name] += time.time() - clock
        summary = summarise(args, task.name, runs, library.count(), correct, seconds, agreement)
        summary["teach_seconds"] = teach_seconds
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
        console.print(
            f"{summary['n']} examples: "
            + ", ".join(f"{k} {100 * v['accuracy']:.1f}%" for k, v in summary["results"].items())
        )
    show(summarise(args, task.name, runs, library.count(), correct, seconds, agreement), args)
    console.print(f"wrote {args.out}")


def summarise(
    args: argparse.Namespace,
    task: str,
    runs: list[dict[str, Any]],
    library_size: int,
    correct: dict[str, list[bool]],
    seconds: dict[str, float],
    agreement: list[float],
) -> dict[str, Any]:
    """Accuracies so far, retrieval against the fixed lessons, and the settings."""
    n = len(next(iter(correct.values())))
    results = {
        name: {"accuracy": sum(hits) / max(1, n), "n": n, "seconds": seconds[name]}
        for name, hits in correct.items()
    }
    retrieval = f"retrieval k={args.k}"
    results[retrieval]["label_agreement"] = sum(agreement) / max(1, len(agreement))
    fixed = [name for name in results if name.startswith("fixed")]
    fixed_mean = sum(results[name]["accuracy"] for name in fixed) / len(fixed)
    latest = fixed[-1]
    return {
        "task": task,
        "model": args.model,
        "n": n,
        "runs": runs,
        "library_lessons": library_size,
        "settings": {
            "teachers": args.teachers,
            "samples": args.samples,
            "keep": args.keep,
            "lessons": args.lessons,
            "k": args.k,
            "eval_size": args.eval_size,
            "seed": args.seed,
        },
        "results": results,
        "fixed_mean_accuracy": fixed_mean,
        "comparison": {
            "retrieval_minus_fixed_mean": results[retrieval]["accuracy"] - fixed_mean,
            "retrieval_minus_latest": results[retrieval]["accuracy"] - results[latest]["accuracy"],
            "mcnemar_p_vs_latest": mcnemar(correct[retrieval], correct[latest]),
            "mcnemar_p_vs_each_fixed": {
                name: mcnemar(correct[retrieval], correct[name]) for name in fixed
            },
        },
    }


def show(summary: dict[str, Any], args: argparse.Namespace) -> None:
    table = Table("condition", "accuracy", "n", title=f"sms_spam, {args.model}, {args.runs} runs")
    for name, row in summary["results"].items():
        table.add_row(name, f"{100 * row['accuracy']:.1f}%", str(row["n"]))
    table.add_row("fixed (mean of runs)", f"{100 * summary['fixed_mean_accuracy']:.1f}%", "")
    console.print(table)
    comparison = summary["comparison"]
    retrieval = summary["results"][f"retrieval k={args.k}"]
    console.print(
        f"retrieval − fixed mean: {100 * comparison['retrieval_minus_fixed_mean']:+.1f} points; "
        f"vs latest run {100 * comparison['retrieval_minus_latest']:+.1f} points "
        f"(McNemar p={comparison['mcnemar_p_vs_latest']:.3f}); retrieved lessons sharing the "
        f"query's gold label: {100 * retrieval['label_agreement']:.1f}%"
    )


if __name__ == "__main__":
    main()
