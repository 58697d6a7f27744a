"""What limits a teacher's instruction: its drafts, the choice among them, or its chat opener.

For the `instructions` cells of the beam table (`refined_specs`, qwen1.5b → gemma3 by default:
the same silo, shots and notes), per run: the teacher's greedy instruction and `--sampled`
drafts at τ from the same prompt. The student reads each on the first 96 of the teacher's
held-back examples (the first 32 are what a refining teacher checks with) and on `--dev` other
held-back examples: the teacher's own data, never the test messages. Reported on the dev
examples: the greedy draft, the draft that the 32 or the 96 held-back examples would choose,
the mean and the best draft, against 0-shot and the teacher's n original examples; and the
greedy draft with its chat opener ("Sure, I'd be happy to help…") removed, with the paired
permutation test over every (run, dev example). The drafts are unfiltered and stay on the
teacher's side: the JSON holds accuracies only, no text.

    flock /tmp/sociallearn-model.lock .venv/bin/python -m benchmarks.instruction_drafts \\
        --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.specs import refined_specs
from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import cell_settings
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.experiments.stats import permutation_p_value
from sociallearn.teaching.drafting import write_instruction, write_notes
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.judging import judging_examples
from sociallearn.teaching.methods import get_method
from sociallearn.teaching.resources import Resources
from sociallearn.teaching.student import Student, build_prompt

RESULTS = Path(__file__).parent / "results"
CHECKS = (32, 96)  # held-back examples a choice is made on; the last also measures
# A chat model's opening line before the instruction proper ("Sure, I'd be happy to help ...:").
CHAT_OPENER = re.compile(r"\A\s*(sure|certainly|of course|absolutely)\b[^\n]*\n+", re.IGNORECASE)
console = Console()


def without_opener(text: str) -> str:
    """`text` less a chat model's opening line, if it has one."""
    return CHAT_OPENER.sub("", text, count=1)


@dataclass(frozen=True)
class Outcome:
    """The student's right and wrong answers after one instruction: on the held-back examples
    (in the order a teacher checks them) and on the dev examples."""

    held_back: list[bool]
    dev: list[bool]

    def checked(self, n: int) -> float:
        return statistics.fmean(self.held_back[:n])

    @property
    def dev_accuracy(self) -> float:
        return statistics.fmean(self.dev)


@dataclass(frozen=True)
class RunDrafts:
    """One run: the greedy draft first, then the sampled ones; the greedy draft without its
    chat opener (None when it has none); 0-shot and the teacher's n original examples."""

    drafts: list[Outcome]
    without_opener: Outcome | None
    zero_shot: Outcome
    original: Outcome


def columns(checks: Sequence[int]) -> list[str]:
    """The ways to pick a draft that the report compares, after the two bars."""
    chosen = [f"chosen_on_{n}" for n in checks]
    return ["zero_shot", "original_examples", "greedy", *chosen, "mean_draft", "best_draft"]


def measure_run(
    spec: ExperimentSpec, seed: int, models: ModelPool, *, sampled: int, dev: int, checked: int
) -> RunDrafts:
    """One run's drafts, each read by the student on the held-back and the dev examples."""
    with tempfile.TemporaryDirectory() as library:
        settings = cell_settings(spec, MethodSpec.parse("instructions"), seed, library)
        resources = Resources(settings, models=models)
        workspace = resources.workspace(f"instruction-drafts-{seed}", "teacher-0")
        task = resources.task
        pool = judging_examples(task, workspace.silo, checked + dev)
        held, dev_examples = pool[:checked], pool[checked:]
        student = Student.for_settings(resources.student_model, task, spec)

        def read(preamble: str) -> Outcome:
            return Outcome(
                [p.correct for p in evaluate(student, preamble, held).predictions],
                [p.correct for p in evaluate(student, preamble, dev_examples).predictions],
            )

        workspace.notes = write_notes(workspace)
        first = seed * 1000  # the drafting node's first seed
        greedy = write_instruction(workspace, [], first)
        texts = [greedy] + [
            write_instruction(workspace, [], first + i, sampled=True) for i in range(1, sampled + 1)
        ]
        plain = without_opener(greedy)
        return RunDrafts(
            drafts=[read(build_prompt(task, instructions=[text])) for text in texts],
            without_opener=read(build_prompt(task, instructions=[plain]))
            if plain != greedy
            else None,
            zero_shot=read(build_prompt(task)),
            original=read(
                get_method("original_examples").baseline_prompt(task, workspace.silo, settings)
            ),
        )


def run_summary(seed: int, run: RunDrafts, checks: Sequence[int]) -> dict[str, Any]:
    """Dev accuracy of 0-shot, of the greedy draft, of the draft each check would choose, of the
    mean and the best draft, and of the greedy draft without its opener."""
    drafts = run.drafts
    return {
        "seed": seed,
        "zero_shot": run.zero_shot.dev_accuracy,
        "original_examples": run.original.dev_accuracy,
        "greedy": drafts[0].dev_accuracy,
        **{f"chosen_on_{n}": max(drafts, key=lambda d: d.checked(n)).dev_accuracy for n in checks},
        "mean_draft": statistics.fmean(d.dev_accuracy for d in drafts),
        "best_draft": max(d.dev_accuracy for d in drafts),
        "greedy_without_opener": run.without_opener and run.without_opener.dev_accuracy,
        "drafts": [
            {**{f"held_back_{n}": d.checked(n) for n in checks}, "dev": d.dev_accuracy}
            for d in drafts
        ],
    }


def measure(
    spec: ExperimentSpec,
    seeds: list[int],
    models: ModelPool,
    *,
    sampled: int,
    dev: int,
    checks: Sequence[int] = CHECKS,
) -> dict[str, Any]:
    """Per run and over the runs: the dev accuracy of each way to pick a draft, and the greedy
    draft with and without its chat opener (paired permutation test over (run, dev example))."""
    started = time.perf_counter()
    runs = {}
    for seed in seeds:
        runs[seed] = measure_run(spec, seed, models, sampled=sampled, dev=dev, checked=max(checks))
        console.print(f"seed {seed}: {time.perf_counter() - started:.0f} s")
    summaries = [run_summary(seed, run, checks) for seed, run in runs.items()]
    opened = [run for run in runs.values() if run.without_opener is not None]
    with_opener = [x for run in opened for x in run.drafts[0].dev]
    no_opener = [x for run in opened if run.without_opener for x in run.without_opener.dev]
    return {
        "table": spec.name,
        "teacher_model": spec.teacher_model,
        "student_model": spec.student_model,
        "sampled": sampled,
        "dev_examples": dev,
        "checks": list(checks),
        "runs": summaries,
        "mean": {
            column: statistics.fmean(s[column] for s in summaries) for column in columns(checks)
        },
        "opener": {
            "runs": len(opened),
            "with": statistics.fmean(with_opener) if opened else None,
            "without": statistics.fmean(no_opener) if opened else None,
            "p": permutation_p_value(with_opener, no_opener, seed=0) if opened else None,
        },
        "seconds": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="qwen1.5b")
    parser.add_argument("--student", default="gemma3")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--sampled", type=int, default=5, help="drafts sampled at τ per run")
    parser.add_argument("--dev", type=int, default=100, help="held-back examples to measure on")
    parser.add_argument("--out", type=Path, default=RESULTS / "instruction_drafts.json")
    args = parser.parse_args()
    (spec,) = refined_specs(args.teacher, args.student, candidates=3, held_back=CHECKS[0])
    report = measure(spec, args.seeds, ModelPool(), sampled=args.sampled, dev=args.dev)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    table = Table(title=f"{spec.name}: student accuracy on {args.dev} dev examples per run")
    shown = [*columns(CHECKS), "greedy_without_opener"]
    for column in ("seed", *shown):
        table.add_column(column)
    for s in [*report["runs"], {"seed": "mean", **report["mean"], "greedy_without_opener": None}]:
        table.add_row(
            str(s["seed"]),
            *(f"{100 * s[c]:.1f}" if s[c] is not None else "—" for c in shown),
        )
    console.print(table)
    console.print(f"chat opener: {report['opener']}")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
