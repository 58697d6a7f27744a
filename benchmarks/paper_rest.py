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

SHARED = {
    "task": "sms_spam", "teacher_model": "qwen1.5b", "student_model": "qwen1.5b",
    "calibration": "content_free", "teachers": 8, "shots": 8, "samples": 8, "keep": 4,
    "lessons": 8, "votes_held_out": 4, "test_size": 100, "runs": 5, "final": True,
}  # fmt: skip
BARS = ("zero_shot", "original_examples")
SYNTHETIC = "synthetic_examples+random"
VOTING = "synthetic_examples+voting"
MANUAL = ("zero_shot", "manual_prompt", "original_examples")
# Each study: its methods, the settings it changes, and the paper's numbers for its methods.
STUDIES: dict[str, dict[str, Any]] = {
    "manual prompt: SMS": {"methods": MANUAL, "paper": {"manual_prompt": 94.0}},
    "manual prompt: Random Insertion": {
        "methods": MANUAL, "task": "random_insertion", "paper": {"manual_prompt": 34.9},
    },
    "SMS+class": {
        "methods": (*MANUAL, "instructions", SYNTHETIC), "task": "sms_spam_class",
        "paper": {"zero_shot": 92.7, "original_examples": 96.8, "instructions": 93.4,
                  SYNTHETIC: 91.5},
    },
    "16 examples": {
        "methods": (*BARS, SYNTHETIC), "shots": 16, "lessons": 16,
        "paper": {"original_examples": 96.5, SYNTHETIC: 88.0},
    },
    "smollm2 teachers": {
        "methods": (*BARS, "instructions", SYNTHETIC), "teacher_model": "smollm2", "paper": {},
    },
    "smollm2 alone": {"methods": BARS, "teacher_model": "smollm2", "student_model": "smollm2",
                      "paper": {}},
    "gemma3 teachers": {
        "methods": (*BARS, SYNTHETIC), "teacher_model": "gemma3", "paper": {},
    },
    "gemma3 alone": {"methods": BARS, "teacher_model": "gemma3", "student_model": "gemma3",
                     "paper": {}},
    "voting at n = 2": {"methods": (*BARS, SYNTHETIC, VOTING), "shots": 2, "lessons": 2,
                      "paper": {}},
    "voting at n = 4": {"methods": (*BARS, SYNTHETIC, VOTING), "shots": 4, "lessons": 4,
                      "paper": {}},
    "voting at n = 8": {"methods": (*BARS, SYNTHETIC, VOTING), "paper": {VOTING: 84.8}},
    "manual prompt: GSM8K": {
        "methods": MANUAL, "task": "gsm8k", "shots": 4, "test_size": 20,
        "paper": {"manual_prompt": 15.6},
    },
}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    settings = {name: {k: v for k, v in s.items() if k != "paper"} for name, s in STUDIES.items()}
    run_studies(
        settings, SHARED, RESULTS / "paper_rest", argv,
        description=__doc__.splitlines()[0], also_reuse=(RESULTS / "locked.json",),
    )  # fmt: skip


def paper_numbers(study: str) -> dict[str, float]:
    """The paper's numbers for a study's methods (by method label)."""
    return dict(STUDIES.get(study, {}).get("paper", {}))


if __name__ == "__main__":
    main()
