"""The paper's Tables 1–2 on the embedded models: every method against both bars, with runs.

SMS spam, Random Insertion and GSM8K (see benchmarks/specs.py for the settings),
each method × run evaluated on the same test examples, side by side in one process. Prints
the tables (mean, 95% interval, permutation-test p-value against the original examples, and
the fraction of the 0-shot → original gap recovered) and writes
benchmarks/results/paper_tables.json (`--full`: paper_tables_full.json, `--capable`:
paper_tables_capable.json). Interrupted runs resume from finished cells.

    .venv/bin/python -m benchmarks.paper_tables             # under 30 min on 2 idle cores
    .venv/bin/python -m benchmarks.paper_tables --full      # + voting and checked teachers (~45 min)
    .venv/bin/python -m benchmarks.paper_tables --quick     # a few minutes, smaller settings
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown

from benchmarks.specs import Preset, paper_specs
from sociallearn.engine import ModelPool
from sociallearn.experiments.report import (
    finished_cells,
    output_paths,
    read_json,
    to_markdown,
    write_json,
)
from sociallearn.experiments.runner import ExperimentResult, finished_so_far, run_experiment
from sociallearn.experiments.spec import ExperimentSpec

RESULTS = Path(__file__).parent / "results"
console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller settings, a few minutes")
    size.add_argument("--full", action="store_true", help="every option on every task")
    size.add_argument(
        "--capable", action="store_true", help="the capable teacher qwen1.5b, 5 runs (hours)"
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="tables to run, by task (sms_spam) or name ('sms_spam, student qwen1.5b'); the "
        "other tables are kept as the results file has them",
    )
    parser.add_argument("--out", type=Path, default=Path(".sociallearn/experiments/paper"))
    parser.add_argument("--results", type=Path, default=None, help="output stem")
    parser.add_argument("--fresh", action="store_true", help="redo finished cells")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="start no cell after this long; runs are added one at a time across all tables, "
        "so a budget gives every table its first runs; rerun to go on",
    )
    args = parser.parse_args()
    preset: Preset = (
        "quick" if args.quick else "full" if args.full else "capable" if args.capable else "paper"
    )
    specs = paper_specs(preset)
    unknown = set(args.only or ()) - {spec.task for spec in specs} - {spec.name for spec in specs}
    if unknown:
        parser.error(f"--only: no {preset} table for {', '.join(sorted(unknown))}")

    def chosen(spec: ExperimentSpec) -> bool:
        return not args.only or spec.task in args.only or spec.name in args.only

    stem = args.results or RESULTS / f"paper_tables_{preset}".removesuffix("_paper")
    started = time.time()
    deadline = started + 60 * args.budget_minutes if args.budget_minutes is not None else None
    models = ModelPool()  # one set of models for every task's cells
    json_path = output_paths(stem)[0]
    kept = {  # with --only, the other tables as the file has them
        result.spec.name: result
        for result in (read_json(json_path) if args.only and json_path.exists() else [])
        if not chosen(result.spec)
    }
    finished = finished_cells(json_path)  # a fresh clone resumes from the committed cells
    results: list[ExperimentResult] = []
    reuse = () if args.fresh else finished
    for runs in range(1, max(spec.runs for spec in specs) + 1):  # run 1 of every table first
        for spec in specs:
            if chosen(spec):
                run_experiment(
                    spec.replace(runs=min(runs, spec.runs)),
                    models=models,
                    out_dir=args.out,
                    resume=not args.fresh or runs > 1,
                    deadline=deadline,
                    reuse=reuse,
                )
        results = [
            kept[spec.name]
            if spec.name in kept
            else finished_so_far(spec, out_dir=args.out, reuse=reuse)
            for spec in specs
            if chosen(spec) or spec.name in kept
        ]
        write_json(results, json_path)  # every finished cell, rewritten each round
    title = "Social learning on the embedded models: the paper's Tables 1–2"
    console.print(Markdown(to_markdown(results, title=title)))
    console.print(f"{(time.time() - started) / 60:.1f} min; wrote {json_path}")


if __name__ == "__main__":
    main()
