"""`sociallearn privacy ...`: the leakage experiment and the filter's adversarial evaluation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sociallearn.apps.flags import add_flags, values_from
from sociallearn.experiments.spec import PRESETS, PrivacyConfig

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def add_privacy_parser(sub: Any) -> None:
    """Register `privacy run` and `privacy filter` under the main parser's subcommands."""
    privacy = sub.add_parser(
        "privacy", help="measure leakage (Secret Sharer, copies) and test the filter"
    )
    actions = privacy.add_subparsers(dest="privacy_command", required=True)

    run = actions.add_parser("run", help="compare the methods' leakage side by side in one run")
    run.add_argument(
        "--preset",
        choices=list(PRESETS),
        default="results",
        help="settings the flags below change: "
        + "; ".join(
            f"{name}: T={p.repetitions}, N={p.comparisons}, m={p.teachers}"
            for name, p in PRESETS.items()
        ),
    )
    add_flags(run, PrivacyConfig, exclude={"final"})
    run.add_argument("--out", type=Path, default=Path("privacy-results"), help="output folder")
    run.add_argument(
        "--budget-minutes", type=float, default=None, help="start no repetition after this long"
    )
    run.add_argument(
        "--fresh",
        action="store_true",
        help="start over instead of resuming OUT/privacy.json (made with the same settings)",
    )
    run.set_defaults(func=cmd_privacy_run)

    check = actions.add_parser("filter", help="the filter's catch and false-rejection rates")
    check.add_argument(
        "--cases", type=Path, default=None, help="JSONL cases (default: shipped set)"
    )
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_privacy_filter)


def cmd_privacy_run(args: argparse.Namespace) -> int:
    from sociallearn.experiments.leakage import measure_privacy, saved_report
    from sociallearn.experiments.report import privacy_markdown, write_privacy

    overrides = values_from(args, PrivacyConfig)
    preset = PRESETS[args.preset]
    config = PrivacyConfig.model_validate({**preset.model_dump(), **overrides})
    budget = args.budget_minutes * 60 if args.budget_minutes is not None else None
    saved = args.out / "privacy.json"
    try:
        resume = None if args.fresh else saved_report(saved, config)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc} (--fresh starts over, --out writes elsewhere)")
        return 2
    if resume is not None:
        console.print(f"resuming {saved}: {resume.completed} of {config.repetitions} done")
    report = measure_privacy(  # results are rewritten after every repetition
        config,
        budget_s=budget,
        on_repetition=lambda partial: write_privacy(partial, args.out),
        resume=resume,
    )
    paths = write_privacy(report, args.out)
    out.print(privacy_markdown(report), markup=False, highlight=False)
    console.print("wrote " + ", ".join(map(str, paths)))
    return 0


def cmd_privacy_filter(args: argparse.Namespace) -> int:
    from sociallearn.privacy.adversarial import evaluate_filter, load_cases

    report = evaluate_filter(load_cases(args.cases))
    if args.json:
        out.print_json(json.dumps(report.model_dump()))
        return 0
    table = Table("attack", "cases", "caught")
    for kind, rate in report.catch_rate_by_kind.items():
        count = sum(r.kind == kind for r in report.results)
        table.add_row(kind, str(count), f"{100 * rate:.0f}%")
    out.print(table)
    out.print(
        f"catch rate {report.caught}/{report.attacks} ({100 * report.catch_rate:.1f}%); "
        f"clean lessons rejected {report.falsely_rejected}/{report.clean} "
        f"({100 * report.false_rejection_rate:.1f}%), "
        f"redacted {report.clean_altered}/{report.clean}"
    )
    if report.missed:
        out.print("missed: " + ", ".join(report.missed))
    if report.false_rejections:
        out.print("falsely rejected: " + ", ".join(report.false_rejections))
    return 0
