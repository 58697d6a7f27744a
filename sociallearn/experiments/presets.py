"""The specs of `benchmarks/paper_tables.py`: the paper's tables on the embedded models.

Sized to finish in under 30 minutes on 2 CPU cores (no other jobs). Models per role are the
better of smollm2 and gemma3 as measured by `benchmarks/model_roles.py`.
"""

from __future__ import annotations

from sociallearn.experiments.spec import ExperimentSpec, parse_methods

PAPER_AND_OPTIONS = (
    "zero_shot",
    "original_examples",
    "instructions",
    "synthetic_examples+random",
    "synthetic_examples+voting",
    "synthetic_examples+random+balanced",
    "synthetic_examples+voting+balanced",
    "synthetic_examples+random+checked",
)
GENERATION_METHODS = (
    "zero_shot",
    "original_examples",
    "instructions",
    "synthetic_examples+random",
    "synthetic_examples+voting",
    "synthetic_examples+random+checked",
)
TEACHER_MODEL = "smollm2"
STUDENT_MODEL = "gemma3"


def paper_specs(*, quick: bool = False) -> list[ExperimentSpec]:
    """SMS spam, Random Insertion and GSM8K; `quick`: a few-minute version of the same."""
    common = {"teacher_model": TEACHER_MODEL, "student_model": STUDENT_MODEL, "runs": 3}
    specs = [
        ExperimentSpec(
            name="sms_spam",
            task="sms_spam",
            methods=parse_methods(PAPER_AND_OPTIONS),
            shots=8,
            teachers=8,
            samples=8,
            keep=4,
            lessons=8,
            votes_held_out=6,
            test_size=200,
            **common,  # type: ignore[arg-type]
        ),
        ExperimentSpec(
            name="random_insertion",
            task="random_insertion",
            methods=parse_methods(GENERATION_METHODS),
            shots=8,
            teachers=8,
            samples=8,
            keep=4,
            lessons=8,
            votes_held_out=6,
            test_size=100,
            **common,  # type: ignore[arg-type]
        ),
        ExperimentSpec(
            name="gsm8k",
            task="gsm8k",
            methods=parse_methods(PAPER_AND_OPTIONS[:5]),
            shots=4,
            teachers=4,
            samples=2,
            keep=1,
            lessons=4,
            votes_held_out=2,
            test_size=20,
            **common,  # type: ignore[arg-type]
        ),
    ]
    if quick:
        small = {"runs": 2, "teachers": 2, "samples": 4, "keep": 2, "lessons": 4}
        specs = [
            ExperimentSpec.model_validate(
                {**spec.model_dump(), **small, "test_size": min(spec.test_size, 20)}
            )
            for spec in specs
        ]
    return specs
