"""Results that hold: the published configurations, evaluated on the locked test part.

Every other benchmark tests on the tuning part of the data; this one runs the configurations
whose tables we publish as final evaluations (`final`: the student is tested on the locked
part, which nothing else reads, with the same teachers as the tuning run of each seed). Each
cell is recorded in benchmarks/results/final_ledger.jsonl and is never computed twice: a second
evaluation of a configuration is refused unless forced (`--force-final`, recorded as such).

SMS spam, qwen1.5b teaches qwen1.5b, domain calibration, m = 4 teachers, n = 8 shots, k = 8
samples, keep 4, 8 lessons, 32 held-back examples (halves for choosing and accepting refined
lessons), K = 3 revisions per round, 100 label-balanced locked test messages per run, 5 runs:

- `plain`: 0-shot, the original examples, instructions and synthetic examples (the paper's);
- `refined instructions`: instructions refined by redrafting, errors shown from the teaching
  examples (the configuration of the redraft table on docs/results/refined.md);
- `refined synthetic`: synthetic examples refined (about 40 minutes a run on 2 cores);
- `paper setting`: the paper's methods as the `paper` preset runs them (content-free
  calibration, m = 8 teachers), where 0-shot stands further below the original examples.

Runs go whole runs first, study by study, under a time budget, and resume from the finished
cells (here or committed in benchmarks/results/locked.json):

    .venv/bin/python -m benchmarks.locked --budget-minutes 60
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from sociallearn.engine import ModelPool
from sociallearn.experiments.ledger import LEDGER_NAME, FinalLedger
from sociallearn.experiments.report import finished_cells, output_paths, write_json
from sociallearn.experiments.runner import ExperimentResult, finished_so_far, run_experiment
from sociallearn.experiments.spec import ExperimentSpec, parse_methods

RESULTS = Path(__file__).parent / "results"
SHARED = {
    "task": "sms_spam", "teacher_model": "qwen1.5b", "student_model": "qwen1.5b",
    "calibration": "domain", "teachers": 4, "shots": 8, "samples": 8, "keep": 4, "lessons": 8,
    "votes_held_out": 32, "refine_candidates": 3, "test_size": 100, "runs": 5, "final": True,
}  # fmt: skip
BARS = ("zero_shot", "original_examples")
STUDIES: dict[str, dict[str, Any]] = {
    "plain": {"methods": (*BARS, "instructions", "synthetic_examples+random")},
    "refined instructions": {
        "methods": (*BARS, "instructions", "instructions+refined"),
        "instruction_revision": "redraft",
        "separate_feedback": True,
    },
    "refined synthetic": {
        "methods": (*BARS, "synthetic_examples+random", "synthetic_examples+random+refined")
    },
    "paper setting": {  # the `paper` preset: content-free calibration, m = 8
        "methods": (*BARS, "instructions", "synthetic_examples+random"),
        "calibration": "content_free",
        "teachers": 8,
        "votes_held_out": 4,
    },
}


def study_specs(
    studies: dict[str, dict[str, Any]], shared: dict[str, Any], runs: int | None = None
) -> list[ExperimentSpec]:
    """The studies' specs, in the order they run: each study's settings over `shared`, with
    `runs` runs each where given."""
    specs = []
    for name, study in studies.items():
        settings = {key: value for key, value in study.items() if key != "methods"}
        values = {**shared, **settings, "methods": parse_methods(study["methods"])}
        if runs is not None:
            values["runs"] = runs
        teacher, student = values["teacher_model"], values["student_model"]
        values["name"] = f"{name} ({teacher} → {student}, locked part)"
        specs.append(ExperimentSpec.model_validate(values))
    return specs


def locked_specs(runs: int = 5) -> list[ExperimentSpec]:
    """This module's studies' specs."""
    return study_specs(STUDIES, SHARED, runs)


def run_studies(
    studies: dict[str, dict[str, Any]],
    shared: dict[str, Any],
    stem: Path,
    argv: list[str] | None = None,
    *,
    description: str = __doc__.splitlines()[0],
    also_reuse: tuple[Path, ...] = (),
) -> None:
    """Parse the command line (`--studies`, `--runs`, `--budget-minutes`, ...) and run the chosen
    studies on the locked part, whole runs first, study by study, into `stem`.json; cells
    finished here, in that file or in `also_reuse` are not computed again."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--runs", type=int, default=None, help="runs of every study (default: its own)"
    )
    parser.add_argument("--studies", default=",".join(studies), help="comma-separated names")
    parser.add_argument("--out", type=Path, default=Path(".sociallearn/experiments/locked"))
    parser.add_argument("--results", type=Path, default=stem, help="output stem")
    parser.add_argument("--budget-minutes", type=float, default=None, help="start no cell after")
    parser.add_argument("--force-final", action="store_true", help="evaluate recorded cells again")
    args = parser.parse_args(argv)
    chosen = args.studies.split(",")
    unknown = sorted(set(chosen) - set(studies))
    if unknown:
        parser.error(f"unknown studies {unknown}; known: {', '.join(studies)}")
    every = study_specs(studies, shared, args.runs)
    specs = [spec for spec, name in zip(every, studies, strict=True) if name in chosen]
    deadline = time.time() + 60 * args.budget_minutes if args.budget_minutes is not None else None
    ledger = FinalLedger(RESULTS / LEDGER_NAME)
    json_path = output_paths(args.results)[0]
    finished = [cell for path in (json_path, *also_reuse) for cell in finished_cells(path)]
    models = ModelPool()
    results: list[ExperimentResult] = []
    for spec in specs:
        for runs in range(1, spec.runs + 1):  # whole runs first
            run_experiment(
                spec.replace(runs=runs), models=models, out_dir=args.out, deadline=deadline,
                reuse=finished, ledger=ledger, force_final=args.force_final,
            )  # fmt: skip
            results = [  # every study's, run now or before
                finished_so_far(other, out_dir=args.out, reuse=finished) for other in every
            ]
            write_json(results, json_path)
    done = sum(len(r.cells) for r in results)
    print(f"{done} of {sum(r.planned_cells for r in results)} cells; wrote {json_path}")


if __name__ == "__main__":
    run_studies(STUDIES, SHARED, RESULTS / "locked")
