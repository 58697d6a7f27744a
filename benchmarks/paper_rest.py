"""The rest of the paper's experiments on the capable model, evaluated on the locked part.

The paper's Tables beyond the first two (Mohtashami et al., arXiv 2312.11441; PaLM 2-S, n = 8,
5 runs): a manual prompt on each task, SMS with the class list in every query ("SMS+class"), 16
examples beside 8, voting at n = 2, 4, 8, and small teachers teaching a larger student. Each
study runs in the `paper` preset's setting (qwen1.5b, m = 8 teachers, n = 8, k = 8, keep 4,
content-free calibration, 100 locked test messages a run, 5 runs) with what it changes; cells
are final evaluations, recorded in final_ledger.jsonl, and the bars the `paper setting` study
of locked.json already holds are reused, not computed again. Lambada and BoolQ are left out: no
offline copy of either dataset is at hand.

Runs go whole runs first, study by study, under a time budget, and resume from the finished
cells:

    .venv/bin/python -m benchmarks.paper_rest --budget-minutes 60
    .venv/bin/python -m benchmarks.paper_rest --studies "manual prompt: SMS,SMS+class"
"""

from __future__ import annotations

from typing import Any

from benchmarks.locked import RESULTS, run_studies
from sociallearn.experiments.report import PAPER

SHARED = {
    "task": "sms_spam", "teacher_model": "qwen1.5b", "student_model": "qwen1.5b",
    "calibration": "content_free", "teachers": 8, "shots": 8, "samples": 8, "keep": 4,
    "lessons": 8, "votes_held_out": 4, "test_size": 100, "runs": 5, "final": True,
}  # fmt: skip
BARS = ("zero_shot", "original_examples")
SYNTHETIC = "synthetic_examples+random"
VOTING = "synthetic_examples+voting"
MANUAL = ("zero_shot", "manual_prompt", "original_examples")
GSM8K = {"shots": 4, "lessons": 4, "test_size": 20}  # worked answers are long: n = 4, 20 questions
# Each study: its methods and the settings it changes; small teachers on GSM8K and Random
# Insertion ("<model> teachers: <task>", "<model> alone: <task>") come last.
STUDIES: dict[str, dict[str, Any]] = {
    "manual prompt: SMS": {"methods": MANUAL},
    "manual prompt: Random Insertion": {"methods": MANUAL, "task": "random_insertion"},
    "SMS+class": {"methods": (*MANUAL, "instructions", SYNTHETIC), "task": "sms_spam_class"},
    "16 examples": {"methods": (*BARS, SYNTHETIC), "shots": 16, "lessons": 16},
    "smollm2 teachers": {"methods": (*BARS, "instructions", SYNTHETIC), "teacher_model": "smollm2"},
    "smollm2 alone": {"methods": BARS, "teacher_model": "smollm2", "student_model": "smollm2"},
    "gemma3 teachers": {"methods": (*BARS, SYNTHETIC), "teacher_model": "gemma3"},
    "gemma3 alone": {"methods": BARS, "teacher_model": "gemma3", "student_model": "gemma3"},
    "voting at n = 2": {"methods": (*BARS, SYNTHETIC, VOTING), "shots": 2, "lessons": 2},
    "voting at n = 4": {"methods": (*BARS, SYNTHETIC, VOTING), "shots": 4, "lessons": 4},
    "voting at n = 8": {"methods": (*BARS, SYNTHETIC, VOTING)},
    "manual prompt: GSM8K": {"methods": MANUAL, "task": "gsm8k", **GSM8K},
    **{
        f"{model} {role}: {name}": {
            "methods": methods, "teacher_model": model, "task": task, **setting,
            **({"student_model": model} if role == "alone" else {}),
        }
        for name, task, setting in (("GSM8K", "gsm8k", GSM8K), ("Random Insertion", "random_insertion", {}))
        for model, taught in (("smollm2", (*BARS, "instructions", SYNTHETIC)), ("gemma3", (*BARS, SYNTHETIC)))
        for role, methods in (("teachers", taught), ("alone", BARS))
    },
}  # fmt: skip
# The paper's numbers (PaLM 2-S) beside a study's methods, where the paper ran its setting: the
# task's numbers on record (`report.PAPER`) where the study is the paper's own setting of a task,
# else the study's own (its synthetic figures without their aggregator, as in `PAPER`).
PAPER_NUMBERS: dict[str, dict[str, float]] = {
    "manual prompt: SMS": {"manual_prompt": PAPER["sms_spam"]["manual_prompt"]},
    "manual prompt: Random Insertion": PAPER["random_insertion"],
    "SMS+class": PAPER["sms_spam_class"],
    "16 examples": {"original_examples": 96.5, "synthetic_examples": 88.0},
    "voting at n = 8": {VOTING: 84.8},
    "manual prompt: GSM8K": {"manual_prompt": PAPER["gsm8k"]["manual_prompt"]},
}


def main(argv: list[str] | None = None) -> None:
    run_studies(
        STUDIES, SHARED, RESULTS / "paper_rest", argv,
        description=__doc__.splitlines()[0], also_reuse=(RESULTS / "locked.json",),
    )  # fmt: skip


def paper_numbers(study: str) -> dict[str, float]:
    """The paper's numbers beside a study's methods (by method, `+random` left out)."""
    return PAPER_NUMBERS.get(study, {})


if __name__ == "__main__":
    main()
