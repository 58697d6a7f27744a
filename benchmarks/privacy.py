"""Privacy benchmark: leakage of each teaching method side by side, and the filter's rates.

    .venv/bin/python -m benchmarks.privacy                  # preset "results" (T = 20, N = 1000)
    .venv/bin/python -m benchmarks.privacy --repetitions 5  # a shorter run
    .venv/bin/python -m benchmarks.privacy --budget-minutes 60  # as many repetitions as fit
    # the paper's scale, in pieces: each call adds repetitions to the file and stops in time
    .venv/bin/python -m benchmarks.privacy --paper --task sms_spam --budget-minutes 10
    .venv/bin/python -m benchmarks.privacy --paper --task gsm8k --budget-minutes 10

Writes benchmarks/results/privacy.json and prints its tables (`--paper`:
privacy-t100-<task>.json: T = 100, N = 1000, original examples, instructions and synthetic
examples). An existing result file with the same settings is resumed: its repetitions are kept
and the run goes on from the next one (`--fresh` starts over). Not a timed test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sociallearn.experiments.leakage import measure_privacy, saved_report
from sociallearn.experiments.report import privacy_markdown, write_privacy_json
from sociallearn.experiments.spec import PRESETS

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="results")
    parser.add_argument("--repetitions", "-T", type=int, default=None)
    parser.add_argument("--comparisons", "-N", type=int, default=None)
    parser.add_argument("--model", default=None, help="teacher and student model (default smollm2)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--budget-minutes", type=float, default=None, help="start no repetition after this long"
    )
    parser.add_argument("--task", default=None, help="sms_spam (default) or gsm8k")
    parser.add_argument(
        "--paper",
        action="store_true",
        help="T = 100, N = 1000; original examples, instructions, synthetic examples",
    )
    parser.add_argument("--fresh", action="store_true", help="do not resume the result file")
    args = parser.parse_args(argv)
    overrides: dict[str, object] = {}
    if args.paper:
        overrides["repetitions"] = 100
        overrides["comparisons"] = 1000
        overrides["measured"] = ["original_examples", "instructions", "synthetic_examples"]
    if args.task is not None:
        overrides["task"] = args.task
    if args.repetitions is not None:
        overrides["repetitions"] = args.repetitions
    if args.comparisons is not None:
        overrides["comparisons"] = args.comparisons
    if args.model is not None:
        overrides["teacher_model"] = overrides["student_model"] = args.model
    base = PRESETS[args.preset]
    config = base.model_validate({**base.model_dump(), **overrides})
    stem = "privacy" if args.model in (None, "smollm2") else f"privacy-{Path(args.model).stem}"
    if args.paper:
        stem += f"-t100-{config.task}"
    elif config.task != "sms_spam":
        stem += f"-{config.task}"
    budget = args.budget_minutes * 60 if args.budget_minutes is not None else None
    saved = args.out / f"{stem}.json"
    resume = None if args.fresh else saved_report(saved, config)
    if resume is not None:
        print(f"resuming {saved}: {resume.completed} repetitions done", file=sys.stderr)
    report = measure_privacy(  # results are rewritten after every repetition
        config,
        budget_s=budget,
        on_repetition=lambda partial: write_privacy_json(partial, saved),
        resume=resume,
    )
    write_privacy_json(report, saved)
    print(privacy_markdown(report))
    print(f"{report.completed} of {config.repetitions} planned repetitions")
    print(f"{report.seconds:.0f} s on {report.cpu_count} CPUs (load average {report.load_average})")
    print(f"wrote {saved}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
