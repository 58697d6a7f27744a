"""The accuracy cost of differentially private voting on SMS spam, at two ε per selection.

The settings of the SMS-spam table of `benchmarks/paper_tables.py` (smollm2 teachers, gemma3
student, m = 8, n = 8, k = 8, keep 4, 8 lessons, 100 test examples × 3 runs), with 0-shot,
the original examples, random choice, plain voting and `dp_voting` at each ε (one table row per
ε; the other methods' cells are shared, and with the same `--out` reused from the paper
tables). Prints each method's accuracy with the run's total (ε, δ) and writes
benchmarks/results/dp_voting.json.

    flock /tmp/sociallearn-model.lock .venv/bin/python -m benchmarks.dp_voting   # ~30 min
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.specs import paper_specs
from sociallearn.engine import ModelPool
from sociallearn.experiments.report import (
    cell_text,
    finished_cells,
    method_name,
    output_paths,
    write_json,
)
from sociallearn.experiments.runner import ExperimentResult, run_experiment
from sociallearn.experiments.spec import ExperimentSpec, parse_methods
from sociallearn.teaching.aggregators.dp_voting import total_privacy

RESULTS = Path(__file__).parent / "results"
EPSILONS = (1.0, 8.0)  # per selection
METHODS = (
    "zero_shot",
    "original_examples",
    "synthetic_examples+random",
    "synthetic_examples+voting",
    "synthetic_examples+dp",
)
console = Console()


def dp_specs() -> list[ExperimentSpec]:
    """The paper tables' SMS-spam spec with these methods, one spec per ε."""
    sms = next(spec for spec in paper_specs("paper") if spec.task == "sms_spam")
    return [
        sms.replace(
            name=name(sms, epsilon),
            methods=parse_methods(METHODS),
            dp_epsilon=epsilon,
            dp_secure_noise=False,  # seeded: the accuracy cost, measured repeatably
        )
        for epsilon in EPSILONS
    ]


def name(spec: ExperimentSpec, epsilon: float) -> str:
    """'sms_spam, dp ε = 1 per selection (run: ε = 8, δ = 0)'."""
    total, delta = total_privacy(epsilon, spec.lessons, spec.dp_delta)
    return f"{spec.task}, dp ε = {epsilon:g} per selection (run: ε = {total:.3g}, δ = {delta:g})"


def privacy_text(spec: ExperimentSpec, method: str) -> tuple[str, str]:
    """(ε per selection, total (ε, δ) over the run's selections) of a method's cells."""
    if not method.endswith("+dp"):
        return "—", "—"
    epsilon, delta = total_privacy(spec.dp_epsilon, spec.lessons, spec.dp_delta)
    return f"{spec.dp_epsilon:g}", f"({epsilon:.3g}, {delta:g})"


def print_table(results: list[ExperimentResult]) -> None:
    table = Table(title="SMS spam: student accuracy (%) with differentially private voting")
    for column in ("method", "ε / selection", "total (ε, δ)", "accuracy [95%]", "p vs original"):
        table.add_column(column)
    shown: set[str] = set()
    for result in results:
        for summary in result.summaries:
            if summary.method in shown:
                continue  # cells shared by every ε: shown once
            if not summary.method.endswith("+dp"):
                shown.add(summary.method)
            p = "—" if summary.p_value is None else f"{summary.p_value:.4f}"
            table.add_row(
                method_name(summary.method),
                *privacy_text(result.spec, summary.method),
                cell_text(summary),
                p,
            )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(".sociallearn/experiments/paper"))
    args = parser.parse_args()
    started = time.time()
    models = ModelPool()
    stem = RESULTS / "dp_voting"
    json_path = output_paths(stem)[0]
    finished = finished_cells(json_path)  # a fresh clone resumes from these
    results = [
        run_experiment(spec, models=models, out_dir=args.out, reuse=finished) for spec in dp_specs()
    ]
    write_json(results, json_path)
    print_table(results)
    console.print(f"{(time.time() - started) / 60:.1f} min; wrote {json_path}")


if __name__ == "__main__":
    main()
