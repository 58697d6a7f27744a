"""`sociallearn experiment`: run an experiment spec (file, tables or flags, over a preset) and write
its tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown

from sociallearn.apps.flags import add_flags, add_preset_flag, values_from
from sociallearn.apps.presets import with_preset
from sociallearn.engine.pool import ModelPool
from sociallearn.experiments.ledger import LEDGER_NAME, FinalLedger
from sociallearn.experiments.spec import DEFAULT_OUT, ExperimentSpec

console = Console(stderr=True, soft_wrap=True)


def add_experiment_parser(sub: Any) -> None:
    """Register the `experiment` subcommand."""
    parser = sub.add_parser(
        "experiment",
        help="run every method × run of a spec: baselines, intervals, significance",
        description="Run every method × run of a spec; write JSON, a markdown table and a plot.",
    )
    parser.add_argument("--spec", type=Path, default=None, help="YAML or JSON spec file")
    add_preset_flag(parser)
    add_flags(parser, ExperimentSpec)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cells, library, checkpoints")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="stem of the .json/.md/.png (default OUT/results)",
    )
    parser.add_argument("--fresh", action="store_true", help="redo finished cells")
    parser.add_argument(
        "--ledger",
        type=Path,
        default=None,
        help=f"with --final: the record of final evaluations (default OUT/{LEDGER_NAME})",
    )
    parser.add_argument(
        "--force-final",
        action="store_true",
        help="with --final: evaluate on the locked part again a configuration already "
        "evaluated there (recorded as forced)",
    )
    parser.set_defaults(func=cmd_experiment)


def cmd_experiment(args: argparse.Namespace) -> int:
    from sociallearn.experiments.report import (
        finished_cells,
        output_paths,
        to_markdown,
        write_all,
    )
    from sociallearn.experiments.runner import run_experiment
    from sociallearn.experiments.spec import load_specs, spec_from_values

    overrides = with_preset(
        values_from(args, ExperimentSpec), args.preset, ExperimentSpec.model_fields
    )
    if args.spec is not None:
        specs = load_specs(args.spec, overrides)
    else:
        specs = [spec_from_values(overrides)]
    stem = args.results or args.out / "results"
    finished = [] if args.fresh else finished_cells(output_paths(stem)[0])
    ledger = FinalLedger(args.ledger or args.out / LEDGER_NAME)
    models = ModelPool(n_gpu_layers=specs[0].n_gpu_layers, served=specs[0].served_options())
    results = [
        run_experiment(
            spec,
            models=models,
            out_dir=args.out,
            resume=not args.fresh,
            reuse=finished,
            ledger=ledger if spec.final else None,
            force_final=args.force_final,
        )
        for spec in specs
    ]
    paths = write_all(results, stem, title="Social learning: student accuracy")
    console.print(Markdown(to_markdown(results, title="Results")))
    console.print("wrote " + ", ".join(str(path) for path in paths))
    return 0
