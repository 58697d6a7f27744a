"""A change to how a method runs, checked on the same seeds: cells before and after, side by side.

    .venv/bin/python -m benchmarks.method_check --name drafting_check \\
        --method synthetic_examples+random --change "what changed" \\
        --before benchmarks/results/demo.json OUT_BEFORE/cells --after OUT_AFTER/cells

A source is an experiment's results JSON (its `cells`) or a folder of cell files (`experiment
--out DIR` writes them under DIR/cells). For every seed that both sides ran: accuracy, seconds,
and how many test predictions are the same; over all seeds the mean with its 95% interval, and
a paired permutation test over every test message (the change keeps accuracy unless p is small).
Writes benchmarks/results/NAME.json. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sociallearn.experiments.harness import CellResult
from sociallearn.experiments.stats import mean_interval, permutation_p_value

RESULTS = Path(__file__).resolve().parent / "results"


def load_cells(sources: list[Path], method: str) -> dict[int, CellResult]:
    """The cells of `method` by seed, from results files and cell folders (later ones win)."""
    cells: dict[int, CellResult] = {}
    for source in sources:
        if source.is_dir():
            found = [CellResult.model_validate_json(p.read_text()) for p in source.rglob("*.json")]
        else:
            found = [CellResult.model_validate(c) for c in json.loads(source.read_text())["cells"]]
        cells.update({cell.seed: cell for cell in found if cell.method == method})
    return cells


def compare(before: dict[int, CellResult], after: dict[int, CellResult]) -> dict[str, Any]:
    """Per seed and over all seeds: accuracies, seconds, same predictions, the paired test."""
    seeds = sorted(set(before) & set(after))
    if not seeds:
        raise SystemExit("method_check: no seed ran on both sides")
    runs, right_before, right_after = [], [], []
    for seed in seeds:
        old, new = before[seed].predictions, after[seed].predictions
        if [p.input for p in old] != [p.input for p in new]:
            raise SystemExit(f"method_check: seed {seed} tested other messages on each side")
        runs.append({
            "seed": seed,
            "before": before[seed].accuracy, "after": after[seed].accuracy,
            "seconds_before": before[seed].seconds, "seconds_after": after[seed].seconds,
            "same_predictions": sum(a.predicted == b.predicted for a, b in zip(old, new, strict=True)),
            "n": len(new),
        })  # fmt: skip
        right_before += [float(p.correct) for p in old]
        right_after += [float(p.correct) for p in new]
    summary = {
        side: mean_interval([run[side] for run in runs], bounds=(0.0, 1.0)).model_dump()
        for side in ("before", "after")
    }
    return {
        "runs": runs,
        "summary": summary,
        "p_value": permutation_p_value(right_after, right_before),
        "same_predictions": sum(run["same_predictions"] for run in runs),
        "predictions": len(right_after),
        "seconds_before": sum(run["seconds_before"] for run in runs) / len(runs),
        "seconds_after": sum(run["seconds_after"] for run in runs) / len(runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True, help="results/NAME.json")
    parser.add_argument("--method", required=True, help="the cells' method label")
    parser.add_argument("--change", required=True, help="what changed, in words")
    parser.add_argument("--setting", required=True, help="the cells' configuration, in words")
    parser.add_argument("--before", type=Path, nargs="+", required=True)
    parser.add_argument("--after", type=Path, nargs="+", required=True)
    args = parser.parse_args(argv)
    result = compare(load_cells(args.before, args.method), load_cells(args.after, args.method))
    report = {"method": args.method, "change": args.change, "setting": args.setting, **result}
    path = RESULTS / f"{args.name}.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    for run in result["runs"]:
        print(
            f"seed {run['seed']}: {100 * run['before']:.0f} → {100 * run['after']:.0f}%, "
            f"{run['seconds_before']:.0f} → {run['seconds_after']:.0f} s, "
            f"{run['same_predictions']} of {run['n']} predictions the same"
        )
    print(
        f"mean {100 * result['summary']['before']['mean']:.1f} → "
        f"{100 * result['summary']['after']['mean']:.1f}%, paired p = {result['p_value']:.2g}; "
        f"{result['seconds_before']:.0f} → {result['seconds_after']:.0f} s a cell "
        f"({result['seconds_before'] / result['seconds_after']:.2f}×); wrote {path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
