"""The benchmarks' experiment specs: the paper's tables on the embedded models
(`benchmarks.paper_tables`) and the refine loop's table (`benchmarks.refined`).

Sized to finish in about 30 minutes on 2 CPU cores. Models per role, as measured by
`benchmarks/model_roles.py` (benchmarks/results/model_roles.json): smollm2 (instruction-tuned)
is the better teacher; gemma3 the better SMS-spam student. On Random Insertion both students
are near 0% and smollm2 scored higher; on GSM8K both scored 0 and smollm2 writes its answers
several times faster, so it is the student there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sociallearn.experiments.spec import PAPER_METHODS, ExperimentSpec, parse_methods

# Measured against the paper's methods on SMS spam, in the 30-minute preset.
BALANCED = "synthetic_examples+random+balanced"
# `full` only: voting with balanced labels, teachers that check candidates on their own data.
VOTING_BALANCED = "synthetic_examples+voting+balanced"
CHECKED = "synthetic_examples+random+checked"
Preset = Literal["quick", "paper", "full", "capable"]
CAPABLE = "qwen1.5b"  # Qwen2.5-Coder-1.5B-Instruct: follows the drafting prompts, can do GSM8K


def paper_specs(preset: Preset = "paper") -> list[ExperimentSpec]:
    """SMS spam, Random Insertion and GSM8K.

    `paper` fits 30 minutes on 2 CPU cores: every paper method on SMS spam (plus class-balanced
    generation), and on the two tasks where both tiny students are near 0% the bars, instructions
    and random aggregation (GSM8K: the bars and synthetic examples, as in the paper's table).
    `full` adds voting everywhere, balanced voting on SMS spam and the teachers' own check (about
    an hour); `quick` is a few-minute version of `paper`.
    """
    if preset == "capable":
        return capable_specs()
    full = preset == "full"
    sms = (*PAPER_METHODS, BALANCED, *((VOTING_BALANCED, CHECKED) if full else ()))
    insertion = (*PAPER_METHODS, CHECKED) if full else PAPER_METHODS[:4]
    gsm8k = (
        PAPER_METHODS if full else ("zero_shot", "original_examples", "synthetic_examples+random")
    )
    many_teachers = {"teachers": 8, "samples": 8, "keep": 4, "lessons": 8, "votes_held_out": 4}
    few_teachers = {"teachers": 4, "samples": 2, "keep": 2, "lessons": 4, "votes_held_out": 2}
    specs = [
        _spec("sms_spam", sms, "gemma3", shots=8, test_size=100, **many_teachers),
        _spec("random_insertion", insertion, "smollm2", shots=8, test_size=100, **many_teachers),
        _spec("gsm8k", gsm8k, "smollm2", shots=4, test_size=20, **few_teachers),
    ]
    if preset == "quick":
        small = {"runs": 2, "teachers": 2, "samples": 4, "keep": 2, "lessons": 4}
        specs = [
            ExperimentSpec.model_validate(
                {**spec.model_dump(), **small, "test_size": min(spec.test_size, 20)}
            )
            for spec in specs
        ]
    return specs


def _spec(task: str, methods: Sequence[str], student: str, **settings: int) -> ExperimentSpec:
    """A preset experiment on `task`: 3 runs, smollm2 teachers, the `student` model."""
    return ExperimentSpec(
        name=task,
        task=task,
        methods=parse_methods(methods),
        runs=3,
        teacher_model="smollm2",
        student_model=student,
        **settings,  # type: ignore[arg-type]
    )


def capable_specs() -> list[ExperimentSpec]:
    """The paper's tables with the capable embedded teacher (qwen1.5b), 5 runs as the paper.

    SMS spam is taught by qwen1.5b to two students: gemma3, with our aggregation options too,
    and qwen1.5b, with the paper's methods (its voting cells take 10 min each); Random Insertion
    and GSM8K are taught and learnt by qwen1.5b. Hours on 2 CPU cores: run it with a time
    budget, in pieces (`python -m benchmarks.paper_tables --capable --budget-minutes M`).
    """
    ours = (BALANCED, VOTING_BALANCED, CHECKED)
    many_teachers = {"teachers": 8, "samples": 8, "keep": 4, "lessons": 8, "votes_held_out": 4}
    few_teachers = {"teachers": 4, "samples": 4, "keep": 2, "lessons": 4, "votes_held_out": 2}
    sms = (*PAPER_METHODS, *ours)
    return [
        _spec("sms_spam", sms, "gemma3", shots=8, test_size=100, **many_teachers)
        .replace(name="sms_spam, student gemma3", teacher_model=CAPABLE, runs=5),
        _spec("sms_spam", PAPER_METHODS, CAPABLE, shots=8, test_size=100, **many_teachers)
        .replace(name="sms_spam, student qwen1.5b", teacher_model=CAPABLE, runs=5),
        _spec("random_insertion", (*PAPER_METHODS, CHECKED), CAPABLE, shots=8, test_size=100,
              **many_teachers).replace(teacher_model=CAPABLE, runs=5),
        _spec("gsm8k", PAPER_METHODS, CAPABLE, shots=4, test_size=50, **few_teachers)
        .replace(teacher_model=CAPABLE, runs=5),
    ]  # fmt: skip


# Beyond the paper (`benchmarks/refined.py`): teachers that refine their lessons with a local
# copy of the student, and m teachers' instructions merged, beside the bars and the unrefined.
REFINED_METHODS = (
    "zero_shot",
    "original_examples",
    "instructions",
    "instructions+refined",
    "instructions+voting",
    "instructions+merge",
    "synthetic_examples+random",
    "synthetic_examples+random+refined",
)


def refined_specs(
    teacher: str = "smollm2",
    student: str = "gemma3",
    runs: int = 3,
    *,
    candidates: int = 1,
    held_back: int = 8,
) -> list[ExperimentSpec]:
    """SMS spam, m = 4 teachers, n = 8 shots, 100 unseen test messages per run: the refine
    loop (`+refined`, `REFINED_ROUNDS` rounds of `candidates` revisions, checked on
    `held_back` examples, which the vote of `instructions+merge` uses too) and the merge
    aggregator against 0-shot, the original examples and the unrefined methods."""
    settings = {"teachers": 4, "samples": 8, "keep": 4, "lessons": 8, "votes_held_out": held_back}
    beam = f", {candidates} candidates × {held_back} held back" if candidates > 1 else ""
    return [
        _spec("sms_spam", REFINED_METHODS, student, shots=8, test_size=100, **settings).replace(
            name=f"sms_spam ({teacher} → {student}{beam})",
            teacher_model=teacher,
            runs=runs,
            refine_candidates=candidates,
        )
    ]
