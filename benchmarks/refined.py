"""Beyond the paper, measured: teachers that refine their lessons, and merged instructions.

SMS spam, m = 4 teachers, n = 8 shots, 100 unseen test messages per run (the preset
`sociallearn.experiments.presets.refined_specs`): 0-shot, the original examples, instructions
and synthetic examples as the paper writes them, the same refined with a local copy of the
student (`+refined`), and m teachers' instructions merged (`instructions+merge`). Each method ×
run is a cell of the experiment harness (intervals over runs, the paired permutation test
against the original examples, the gap recovered, and each method's time). Runs are added one
at a time under a time budget and resume from the finished cells; the result goes to
benchmarks/results/refined.json, named after the options off their defaults
(e.g. refined_qwen1.5b_k3_h32.json for `--teacher qwen1.5b --candidates 3 --held-back 32`).

    .venv/bin/python -m benchmarks.refined --runs 3 --budget-minutes 10
    .venv/bin/python -m benchmarks.refined --teacher qwen1.5b --runs 1 --budget-minutes 10
    .venv/bin/python -m benchmarks.refined --teacher qwen1.5b --student qwen1.5b --candidates 3 \
        --held-back 32 --calibration domain --runs 5 --budget-minutes 40 \
        --methods zero_shot,original_examples,synthetic_examples+random,synthetic_examples+random+refined \
        --results benchmarks/results/refined_qwen1.5b_student-qwen1.5b_k3_h32_calibration-domain_synthetic-replace
        # refined synthetic examples, about 42 min per run on 2 cores: in pieces, resuming from the
        # committed cells
    .venv/bin/python -m benchmarks.refined --teacher qwen1.5b --student qwen1.5b --candidates 3 \
        --held-back 32 --calibration domain --separate-feedback --instruction-revision redraft \
        --methods zero_shot,original_examples,instructions,instructions+refined --runs 5
        # errors shown from the teaching examples, revisions checked on the held-back ones, each
        # written anew from the teacher's examples and the errors

`--reuse FILE` (optional) takes the finished cells of another results file whose keys match,
e.g. the baselines of a run with other options.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.specs import REFINED_METHODS, refined_specs
from sociallearn.engine import ModelPool
from sociallearn.experiments.report import finished_cells, output_paths, write_json
from sociallearn.experiments.runner import finished_so_far, run_experiment
from sociallearn.experiments.spec import parse_methods

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="smollm2", help="the teachers' model")
    parser.add_argument("--student", default="gemma3", help="the student's model")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=1, help="K: revisions per round")
    parser.add_argument(
        "--held-back", type=int, default=8, help="held-back examples a teacher checks or votes on"
    )
    parser.add_argument(
        "--vote-judge",
        default="teacher",
        choices=["teacher", "student"],
        help="the model voting teachers score with: their own or a local copy of the student's",
    )
    parser.add_argument(
        "--instruction-revision",
        default="rewrite",
        choices=["rewrite", "redraft"],
        help="refining teachers rewrite their instruction, or write a new one from their "
        "examples told of the errors (Settings.instruction_revision)",
    )
    parser.add_argument(
        "--separate-feedback",
        action="store_true",
        help="refining teachers read the student's errors on their teaching examples, not on "
        "the held-back ones they check revisions on (Settings.separate_feedback)",
    )
    parser.add_argument(
        "--calibration",
        default="content_free",
        choices=["none", "content_free", "domain"],
        help="the label prior the student's calibration removes (Settings.calibration)",
    )
    parser.add_argument("--methods", default=",".join(REFINED_METHODS))
    parser.add_argument("--out", type=Path, default=Path(".sociallearn/experiments/refined"))
    parser.add_argument("--results", type=Path, default=None, help="output stem")
    parser.add_argument(
        "--reuse",
        type=Path,
        action="append",
        default=[],
        help="another results file whose finished cells this run reuses where their keys match",
    )
    parser.add_argument("--budget-minutes", type=float, default=None, help="start no cell after")
    args = parser.parse_args()
    (spec,) = refined_specs(
        args.teacher,
        args.student,
        runs=args.runs,
        candidates=args.candidates,
        held_back=args.held_back,
    )
    spec = spec.replace(
        methods=parse_methods(args.methods.split(",")),
        vote_judge=args.vote_judge,
        instruction_revision=args.instruction_revision,
        calibration=args.calibration,
        separate_feedback=args.separate_feedback,
    )
    named = [
        ("calibration", "{} calibration"),
        ("separate_feedback", "errors shown from other examples"),
        ("instruction_revision", "instructions {}ed"),
    ]
    for option, words in named:
        if getattr(args, option) != parser.get_default(option):
            spec = spec.replace(name=f"{spec.name}, {words.format(getattr(args, option))}")
    # Each option off its default names the output, so that no run overwrites another's.
    labels = {
        "teacher": "{}",
        "student": "student-{}",
        "candidates": "k{}",
        "held_back": "h{}",
        "vote_judge": "judge-{}",
        "instruction_revision": "revision-{}",
        "calibration": "calibration-{}",
        "separate_feedback": "separate-feedback",
    }
    options = [
        label.format(getattr(args, name))
        for name, label in labels.items()
        if getattr(args, name) != parser.get_default(name)
    ]
    stem = args.results or RESULTS / "_".join(["refined", *options])
    deadline = time.time() + 60 * args.budget_minutes if args.budget_minutes is not None else None
    models = ModelPool()
    # A fresh clone resumes from its committed cells, and from those of --reuse files.
    finished = [c for path in [output_paths(stem)[0], *args.reuse] for c in finished_cells(path)]
    result = None
    for runs in range(1, spec.runs + 1):  # whole runs first: every method's run 1, then 2, ...
        run_experiment(
            spec.replace(runs=runs),
            models=models,
            out_dir=args.out,
            deadline=deadline,
            reuse=finished,
        )
        result = finished_so_far(spec, out_dir=args.out, reuse=finished)
        write_json([result], output_paths(stem)[0])  # every finished cell, rewritten each run
    if result is not None:
        done = len(result.cells)
        print(f"{done} of {result.planned_cells} cells; wrote {output_paths(stem)[0]}")


if __name__ == "__main__":
    main()
