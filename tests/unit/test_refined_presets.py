"""Measuring refined lessons and merged instructions: the `+merge` option and the preset."""

from __future__ import annotations

import pytest

from benchmarks.specs import REFINED_METHODS, refined_specs
from sociallearn.engine import ModelPool
from sociallearn.experiments.harness import cell_settings
from sociallearn.experiments.runner import run_experiment
from sociallearn.experiments.spec import (
    REFINED_ROUNDS,
    ExperimentSpec,
    MethodSpec,
    SpecError,
    parse_methods,
    spec_from_values,
)


def test_merge_is_an_option_of_instructions():
    merge = MethodSpec.parse("instructions+merge")
    assert (merge.aggregator, merge.label) == ("merge", "instructions+merge")
    assert merge.settings()["aggregator"] == "merge" and not merge.one_teacher
    both = MethodSpec.parse("instructions+merge+refined")
    assert both.label == "instructions+merge+refined"
    assert both.settings()["refine_rounds"] == REFINED_ROUNDS
    assert MethodSpec.parse(both.label) == both
    assert MethodSpec.parse("instructions").one_teacher
    for bad in ("synthetic_examples+merge", "zero_shot+merge", "instructions+merge+voting"):
        with pytest.raises(ValueError):
            MethodSpec.parse(bad)
    with pytest.raises(SpecError, match="merge"):
        spec_from_values({"methods": "zero_shot,synthetic_examples+merge"})


def test_voting_chooses_the_best_single_instruction_of_m_teachers():
    voted = MethodSpec.parse("instructions+voting")
    assert (voted.aggregator, voted.label, voted.one_teacher) == (
        "voting",
        "instructions+voting",
        False,
    )
    assert voted.settings()["aggregator"] == "voting"
    spec = ExperimentSpec(methods=["instructions", "instructions+voting"])  # type: ignore[list-item]
    assert spec.cell_key(spec.methods[0], 0) != spec.cell_key(spec.methods[1], 0)
    for bad in ("instructions+dp", "instructions+balanced", "instructions+voting+checked"):
        with pytest.raises(
            ValueError, match=r"apply to synthetic_examples (and public_examples )?only"
        ):
            MethodSpec.parse(bad)


def test_merged_instructions_get_the_specs_m_teachers(tmp_path):
    spec = ExperimentSpec(teachers=4)
    merged = cell_settings(spec, MethodSpec.parse("instructions+merge"), 0, tmp_path)
    single = cell_settings(spec, MethodSpec.parse("instructions"), 0, tmp_path)
    assert (merged.teachers, merged.aggregator) == (4, "merge")
    assert (single.teachers, single.aggregator) == (1, "random")
    assert spec.cell_key(MethodSpec.parse("instructions+merge"), 0) != spec.cell_key(
        MethodSpec.parse("instructions"), 0
    )


def test_refined_preset():
    (spec,) = refined_specs("smollm2", "gemma3", runs=3)
    assert [m.label for m in spec.methods] == list(REFINED_METHODS)
    assert (spec.task, spec.teachers, spec.shots, spec.test_size, spec.runs) == (
        "sms_spam",
        4,
        8,
        100,
        3,
    )
    assert (spec.teacher_model, spec.student_model) == ("smollm2", "gemma3")
    # The baselines' cells do not depend on the teacher: other teachers' tables share them.
    (other,) = refined_specs("qwen1.5b", "gemma3", runs=1)
    for label in ("zero_shot", "original_examples"):
        method = MethodSpec.parse(label)
        assert spec.cell_key(method, 0) == other.cell_key(method, 0)
    # A beam of candidates checked on more held-back examples: new cells for the taught methods.
    (beam,) = refined_specs("qwen1.5b", "gemma3", runs=1, candidates=3, held_back=32)
    assert (beam.refine_candidates, beam.votes_held_out) == (3, 32)
    for label in REFINED_METHODS:
        method = MethodSpec.parse(label)
        same = beam.cell_key(method, 0) == other.cell_key(method, 0)
        assert same == (not method.teaches), label


@pytest.mark.parametrize("label", ["instructions+merge", "instructions+voting"])
def test_one_of_m_instructions_runs_in_an_experiment(label, sms_file, tmp_path, scripted):
    engine = scripted(lambda prompt, n: " Spam offers prizes; ham is personal.")
    spec = ExperimentSpec(
        data_path=str(sms_file),
        test_size=4,
        runs=1,
        teachers=2,
        shots=2,
        votes_held_out=2,
        permutations=200,
        methods=parse_methods(["zero_shot", "original_examples", label]),
    )
    result = run_experiment(
        spec, models=ModelPool.fixed(engine), out_dir=tmp_path / "exp", progress=False
    )
    chosen = next(c for c in result.cells if c.method == label)
    assert chosen.n == 4 and len(chosen.lessons) == 1
    assert result.summary(label) is not None
