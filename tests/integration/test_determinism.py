"""Same seed, same machine, same numbers: a teach run and its evaluation, twice, compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import CellResult, run_cell
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec

SPEC = ExperimentSpec(
    task="sms_spam", teachers=2, samples=4, keep=2, lessons=4, test_size=20, runs=1
)
# gemma3 writes the instructions: smollm2's loop on one sentence, which the filter rejects.
TEACHERS = {"synthetic_examples+voting": "smollm2", "instructions": "gemma3"}


def taught_and_tested(out_dir: Path, method: str) -> CellResult:
    """One cell from scratch: new models (empty caches), a new library."""
    spec = SPEC.replace(teacher_model=TEACHERS[method])
    return run_cell(spec, MethodSpec.parse(method), 0, ModelPool(), out_dir=out_dir)


@pytest.mark.parametrize("method", ["synthetic_examples+voting", "instructions"])
def test_a_run_repeats_exactly(tmp_path: Path, datasets: Path, method: str):
    first = taught_and_tested(tmp_path / "first", method)
    second = taught_and_tested(tmp_path / "second", method)
    assert first.lessons and first.lessons == second.lessons
    assert [p.model_dump() for p in first.predictions] == [
        p.model_dump() for p in second.predictions
    ]
    assert first.key == second.key and first.accuracy == second.accuracy
