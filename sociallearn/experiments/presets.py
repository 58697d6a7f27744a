"""The specs of `benchmarks/paper_tables.py`: the paper's tables on the embedded models.

Sized to finish in about 30 minutes on 2 CPU cores. Models per role, as measured by
`benchmarks/model_roles.py` (benchmarks/results/model_roles.md): smollm2 (instruction-tuned)
is the better teacher; gemma3 the better SMS-spam student. On Random Insertion both students
are near 0% and smollm2 scored higher; on GSM8K both scored 0 and smollm2 writes its answers
several times faster, so it is the student there.
"""

from __future__ import annotations

from sociallearn.experiments.spec import ExperimentSpec, parse_methods

SMS_METHODS = (
    "zero_shot",
    "original_examples",
    "instructions",
    "synthetic_examples+random",
    "synthetic_examples+voting",
    "synthetic_examples+random+balanced",
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
PAPER_ONLY = GENERATION_METHODS[:5]


def paper_specs(*, quick: bool = False) -> list[ExperimentSpec]:
    """SMS spam, Random Insertion and GSM8K; `quick`: a few-minute version of the same."""
    many_teachers = {"teachers": 8, "samples": 8, "keep": 4, "lessons": 8, "votes_held_out": 4}
    specs = [
        ExperimentSpec(
            name="sms_spam",
            task="sms_spam",
            methods=parse_methods(SMS_METHODS),
            shots=8,
            test_size=100,
            runs=3,
            teacher_model="smollm2",
            student_model="gemma3",
            **many_teachers,  # type: ignore[arg-type]
        ),
        ExperimentSpec(
            name="random_insertion",
            task="random_insertion",
            methods=parse_methods(GENERATION_METHODS),
            shots=8,
            test_size=100,
            runs=3,
            teacher_model="smollm2",
            student_model="smollm2",
            **many_teachers,  # type: ignore[arg-type]
        ),
        ExperimentSpec(
            name="gsm8k",
            task="gsm8k",
            methods=parse_methods(PAPER_ONLY),
            shots=4,
            teachers=4,
            samples=2,
            keep=2,
            lessons=4,
            votes_held_out=2,
            test_size=20,
            runs=3,
            teacher_model="smollm2",
            student_model="smollm2",
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
