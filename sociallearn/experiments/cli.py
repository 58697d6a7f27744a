"""`sociallearn experiment`: run an experiment spec (file, preset or flags) and write its tables."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown

from sociallearn.experiments.runner import DEFAULT_OUT

console = Console(stderr=True)

# Flags that set spec fields: (flag, field, type, help). Unset flags leave the spec's values.
SPEC_FLAGS: list[tuple[str, str, type, str]] = [
    ("--task", "task", str, "sms_spam, gsm8k or random_insertion"),
    ("--data", "data_path", str, "dataset file (upstream format)"),
    ("--methods", "methods", str, "comma-separated, e.g. zero_shot,synthetic_examples+voting"),
    ("--shots", "shots", int, "n"),
    ("--teachers", "teachers", int, "m"),
    ("--temperature", "temperature", float, "τ"),
    ("--samples", "samples", int, "k"),
    ("--keep", "keep", int, "candidates each teacher shares"),
    ("--lessons", "lessons", int, "synthetic examples in the student's prompt"),
    ("--votes-held-out", "votes_held_out", int, "held-back examples per teacher for voting"),
    ("--test-size", "test_size", int, "test examples per run"),
    ("--runs", "runs", int, "runs (seeds)"),
    ("--first-seed", "first_seed", int, "seed of the first run"),
    ("--teacher-model", "teacher_model", str, "smollm2, gemma3 or a GGUF path"),
    ("--student-model", "student_model", str, "smollm2, gemma3 or a GGUF path"),
    ("--permutations", "permutations", int, "reshuffles of the permutation test"),
]


def add_experiment_parser(sub: Any) -> None:
    """Register the `experiment` subcommand."""
    parser = sub.add_parser(
        "experiment",
        help="reproduce the paper's tables: baselines, methods, runs, significance",
        description="Run every method × run of a spec; write JSON, a markdown table and a plot.",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--spec", type=Path, default=None, help="YAML or JSON spec file")
    source.add_argument(
        "--preset",
        choices=["paper", "full", "quick"],
        default=None,
        help="the benchmark's specs (benchmarks/paper_tables.py)",
    )
    for flag, field, kind, text in SPEC_FLAGS:
        parser.add_argument(flag, dest=field, type=kind, default=None, help=text)
    parser.add_argument("--no-calibrate", action="store_true", help="raw label scores")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="cells, library, checkpoints")
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="stem of the .json/.md/.png (default OUT/results)",
    )
    parser.add_argument("--fresh", action="store_true", help="redo finished cells")
    parser.set_defaults(func=cmd_experiment)


def cmd_experiment(args: argparse.Namespace) -> int:
    from sociallearn.experiments.presets import paper_specs
    from sociallearn.experiments.report import to_markdown, write_all
    from sociallearn.experiments.runner import run_experiment
    from sociallearn.experiments.spec import load_specs, spec_from_values

    overrides = {field: getattr(args, field) for _, field, _, _ in SPEC_FLAGS}
    overrides = {key: value for key, value in overrides.items() if value is not None}
    if args.no_calibrate:
        overrides["calibrate"] = False
    if args.spec is not None:
        specs = load_specs(args.spec, overrides)
    elif args.preset is not None:
        specs = [
            spec_from_values({**spec.model_dump(), **overrides})
            for spec in paper_specs(args.preset)
        ]
    else:
        specs = [spec_from_values(overrides)]
    results = [run_experiment(spec, out_dir=args.out, resume=not args.fresh) for spec in specs]
    stem = args.results or args.out / "results"
    paths = write_all(results, stem, title="Social learning: student accuracy")
    console.print(Markdown(to_markdown(results, title="Results")))
    console.print("wrote " + ", ".join(str(path) for path in paths))
    return 0
