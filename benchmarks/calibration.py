"""How the student's label calibration moves its answers: none, content-free, domain.

Re-scores the committed lessons of an experiment's results file (its 0-shot prompt and each
instruction method's published instruction; example lessons are not kept in results files) on
the same unseen test messages of every run, with the student's model under each calibration:
none (raw label log-probabilities), `content_free` (the 'N/A' input; the default) and `domain`
(random strings of the test messages' own words, Fei et al. 2023). No teacher runs. Prints
accuracy and spam answers side by side and writes benchmarks/results/calibration.json.

    flock /tmp/sociallearn-model.lock .venv/bin/python -m benchmarks.calibration \
        refined_qwen1.5b_student-qwen1.5b_k3_h32.json refined_qwen1.5b_k3_h32.json

Those two files (`INPUTS`: `benchmarks/refined.py` with the content-free default, qwen1.5b
teaching qwen1.5b and gemma3, 3 candidates × 32 held back) stay in benchmarks/results/ as this
benchmark's inputs only; no page shows a table of them.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from rich.console import Console
from rich.table import Table

from sociallearn.core.literals import Calibration
from sociallearn.core.lm import LanguageModel, MemoisedScores
from sociallearn.engine import ModelPool
from sociallearn.experiments.report import read_json
from sociallearn.experiments.stats import mean_interval, permutation_p_value
from sociallearn.tasks import Example, get_task
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.student import Student, build_prompt

RESULTS = Path(__file__).parent / "results"
INPUTS = ("refined_qwen1.5b_student-qwen1.5b_k3_h32.json", "refined_qwen1.5b_k3_h32.json")
METHODS = ("zero_shot", "instructions", "instructions+refined")
CALIBRATIONS: tuple[Calibration, ...] = ("none", "content_free", "domain")


def measure(path: Path, get_model: Callable[[str], LanguageModel]) -> dict[str, Any]:
    """Every calibration on every run of each instruction method of `path`'s experiment."""
    (result,) = read_json(path)
    spec, task = result.spec, get_task(result.spec.task)
    if task.labels != ("spam", "ham"):
        raise SystemExit(f"{path}: task {spec.task!r}; this benchmark reads SMS spam results")
    model = cast(LanguageModel, MemoisedScores(get_model(spec.student_model)))
    rows: dict[str, Any] = {}
    for method in METHODS:
        cells = sorted((c for c in result.cells if c.method == method), key=lambda c: c.seed)
        if not cells:
            continue
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CALIBRATIONS}
        started = time.time()
        for cell in cells:
            test = [Example(input=p.input, output=p.gold, answer=p.gold) for p in cell.predictions]
            preamble = build_prompt(task, instructions=cell.lessons)
            for name in CALIBRATIONS:
                scored = evaluate(Student(model, task, calibration=name), preamble, test)
                runs[name].append(
                    {
                        "seed": cell.seed,
                        "accuracy": scored.accuracy,
                        "spam_answers": sum(p.predicted == "spam" for p in scored.predictions),
                        "correct": [p.correct for p in scored.predictions],
                    }
                )
        rows[method] = {
            "recorded": [c.accuracy for c in cells],
            "seconds_per_run": (time.time() - started) / len(cells),
            **{name: summary(runs[name], runs["content_free"]) for name in CALIBRATIONS},
        }
    return {"file": path.name, "student_model": spec.student_model, "methods": rows}


def summary(runs: list[dict[str, Any]], default: list[dict[str, Any]]) -> dict[str, Any]:
    accuracies = [run["accuracy"] for run in runs]
    ours = [float(c) for run in runs for c in run["correct"]]
    theirs = [float(c) for run in default for c in run["correct"]]
    return {
        "accuracies": accuracies,
        "interval": mean_interval(accuracies, bounds=(0.0, 1.0)).model_dump(),
        "spam_answers": [run["spam_answers"] for run in runs],
        "test_messages": [len(run["correct"]) for run in runs],
        "p_vs_content_free": None if ours == theirs else permutation_p_value(ours, theirs),
    }


def show(report: dict[str, Any]) -> None:
    table = Table(title=f"{report['file']} (student {report['student_model']})")
    table.add_column("method")
    for name in CALIBRATIONS:
        table.add_column(f"{name}: mean % (spam answers / messages)")
    table.add_column("domain vs content_free p")
    for method, row in report["methods"].items():
        cells = [
            f"{100 * row[name]['interval']['mean']:.1f} "
            f"({sum(row[name]['spam_answers'])} / {sum(row[name]['test_messages'])})"
            for name in CALIBRATIONS
        ]
        p_value = row["domain"]["p_vs_content_free"]
        table.add_row(method, *cells, "—" if p_value is None else f"{p_value:.3f}")
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="results files under benchmarks/results/")
    parser.add_argument("--out", type=Path, default=RESULTS / "calibration.json")
    args = parser.parse_args()
    models = ModelPool()
    reports = []
    for file in args.files:
        reports.append(measure(RESULTS / file, models.get))
        show(reports[-1])
    args.out.write_text(json.dumps({"reports": reports}, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
