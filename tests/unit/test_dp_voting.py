"""Differentially private voting: seeded report-noisy-max, its limits in ε, its accounting."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest
from small_context import small_context, small_settings

from sociallearn.apps.cli import main
from sociallearn.apps.run import teach
from sociallearn.core.schema import Lesson
from sociallearn.engine import ModelPool
from sociallearn.experiments.spec import ExperimentSpec, MethodSpec
from sociallearn.teaching.aggregators.base import Ballot
from sociallearn.teaching.aggregators.dp_voting import DPVoting, noisy_elect, total_privacy
from sociallearn.teaching.aggregators.voting import elect
from sociallearn.teaching.settings import Settings

SCORES = [  # teachers × candidates; plurality rounds choose 0, 1, 2 with no tie in votes
    [0.9, 0.8, 0.1, 0.0],
    [0.7, 0.9, 0.2, 0.0],
    [0.8, 0.1, 0.3, 0.0],
]


def winners(scores: list[list[float]], epsilon: float, seeds: int) -> Counter[int]:
    """How often each candidate is chosen first, over `seeds` seeds."""
    return Counter(noisy_elect(scores, 1, epsilon, random.Random(seed))[0] for seed in range(seeds))


def test_huge_epsilon_is_plain_voting():
    plain = [index for index, _ in elect(SCORES, 3)]
    for seed in range(20):
        assert noisy_elect(SCORES, 3, 1e9, random.Random(seed)) == plain


def test_tiny_epsilon_is_close_to_uniform():
    unanimous = [[1.0, 0.0, 0.0, 0.0]] * 8  # 8 votes for candidate 0, none for the others
    counts = winners(unanimous, 1e-6, 4000)
    assert all(abs(counts[c] / 4000 - 0.25) < 0.04 for c in range(4)), counts


def test_noise_scale_is_two_over_epsilon():
    # One vote against none: candidate 0 wins iff L1 − L0 < 1, L ~ Laplace(b), b = 2/ε = 1:
    # P = 1 − ½·e^(−1/b)·(1 + 1/(2b)) = 0.724 (a scale of 1/ε would give 0.865).
    expected = 1 - 0.5 * math.exp(-1) * 1.5
    assert abs(winners([[1.0, 0.0]], 2.0, 4000)[0] / 4000 - expected) < 0.03


def test_accounting_on_known_cases():
    assert total_privacy(1.0, 8, 1e-5) == (8.0, 0.0)  # advanced composition is worse here
    epsilon, delta = total_privacy(0.1, 100, 1e-5)  # 0.1·√(200·ln 1e5) + 10·(e^0.1 − 1)
    assert epsilon == pytest.approx(5.8502, abs=1e-4) and delta == 1e-5
    assert total_privacy(0.1, 100, 0.0) == pytest.approx((10.0, 0.0))
    assert total_privacy(1.0, 0, 1e-5) == (0.0, 0.0)


def lessons(count: int) -> list[Lesson]:
    return [
        Lesson(
            task="sms_spam",
            kind="example",
            text=f"Offer {i}: text WIN\nLabel: spam",
            input=f"Offer {i}: text WIN",
            output="spam",
            answer="spam",
            teacher_id=f"teacher-{i % 2}",
            teacher_model="scripted",
            run_id="run",
            method="synthetic_examples",
            settings={"seed": 0},
        )
        for i in range(count)
    ]


def choose(sms_file: Path, tmp_path: Path, scripted, run_id: str, **overrides) -> list[Lesson]:
    context = small_context(
        sms_file, tmp_path, scripted(lambda prompt, n: ""), aggregator="dp_voting", **overrides
    )
    return DPVoting().choose(lessons(6), 2, Ballot(context, run_id, ["teacher-0", "teacher-1"]))


def test_seeded_noise_repeats_and_secure_noise_does_not(sms_file, tmp_path, scripted):
    def chosen(run_id: str, secure: bool) -> tuple[str, ...]:
        found = choose(sms_file, tmp_path, scripted, run_id, dp_secure_noise=secure)
        return tuple(lesson.text for lesson in found)

    seeded = {run_id: chosen(run_id, False) for run_id in "abcde"}
    assert chosen("a", False) == seeded["a"]  # the same run id and seed: the same noise
    assert len(set(seeded.values())) > 1
    # The default draws from the OS: the run id and seed published on the lessons do not
    # reproduce it (20 equal draws would be vanishingly unlikely).
    assert len({chosen("a", True) for _ in range(20)}) > 1


def test_lessons_record_the_runs_privacy(sms_file, tmp_path, scripted):
    chosen = choose(sms_file, tmp_path, scripted, "a", dp_epsilon=0.5, dp_delta=0.0)
    for lesson in chosen:
        assert lesson.settings == {
            "seed": 0,
            "dp_epsilon": 0.5,
            "dp_epsilon_total": 1.0,
            "dp_delta": 0.0,
        }
        assert lesson.votes == 0  # the counts stay private


def test_a_teach_run_publishes_dp_lessons(sms_file, tmp_path, scripted):
    engine = scripted(lambda prompt, n: f" Offer {n}: you won, reply WIN\nLabel: spam")
    settings = small_settings(sms_file, tmp_path, aggregator="dp_voting", lessons=2)
    state = teach(settings, models=ModelPool.fixed(engine))
    assert len(state["candidates"]) > 2 and len(state["lessons"]) == 2
    expected = total_privacy(settings.dp_epsilon, 2, settings.dp_delta)
    for lesson in state["lessons"]:
        assert (lesson.settings["dp_epsilon_total"], lesson.settings["dp_delta"]) == expected


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--dp-epsilon", "0", "--dp-epsilon: Input should be greater than 0"),
        ("--dp-epsilon", "-1", "--dp-epsilon: Input should be greater than 0"),
        ("--dp-delta", "1", "--dp-delta: Input should be less than 1"),
    ],
)
def test_invalid_privacy_flags_are_refused(tmp_path, capsys, flag, value, message):
    assert main(["teach", flag, value, "--library", str(tmp_path / "library")]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("label", "aggregator", "non_private"),
    [
        ("synthetic_examples+dp", "dp_voting", "synthetic_examples+voting"),
        ("public_examples+dp_choice", "dp_choice", "public_examples+random"),
    ],
)
def test_dp_method_options(label: str, aggregator: str, non_private: str):
    dp = MethodSpec.parse(label)
    assert dp.label == label and Settings(**dp.settings()).aggregator == aggregator
    with pytest.raises(ValueError, match="synthetic_examples and public_examples only"):
        MethodSpec.parse(f"instructions+{label.split('+')[1]}")
    other = MethodSpec.parse(non_private)
    spec, stricter = ExperimentSpec(), ExperimentSpec(dp_epsilon=0.1)
    assert spec.cell_key(other, 0) == stricter.cell_key(other, 0)  # shared across ε
    assert spec.cell_key(dp, 0) != stricter.cell_key(dp, 0)


def test_one_aggregator_a_method():
    with pytest.raises(ValueError, match="two aggregators"):
        MethodSpec.parse("synthetic_examples+voting+dp")
    with pytest.raises(ValueError, match="balanced/checked apply to synthetic_examples only"):
        MethodSpec.parse("public_examples+random+balanced")
