"""Secret Sharer arithmetic on cases with known answers, and the canary templates."""

from __future__ import annotations

import math
import random

import pytest

from sociallearn.core.lm import Score, rank_by_scores
from sociallearn.privacy.secret_sharer import (
    TEMPLATES,
    Secret,
    canary_rank,
    expected_exposure,
    exposure,
    sample_secrets,
    scored_text,
    summarise,
    template_for,
)
from sociallearn.tasks import get_task


class MeanEngine:
    """Scores a continuation "s" by the float s as its mean log-likelihood."""

    def score(self, prefix: str, continuations: list[str]) -> list[Score]:
        return [Score(2 * float(text), 2) for text in continuations]


def test_rank_counts_strictly_higher_scores():
    engine = MeanEngine()
    assert rank_by_scores(engine, "p", "-1", ["-2", "-3", "-1.5"]) == 0  # type: ignore[arg-type]
    assert rank_by_scores(engine, "p", "-2", ["-1", "-3", "-1.5", "-2.5"]) == 2  # type: ignore[arg-type]
    assert rank_by_scores(engine, "p", "-1", ["-1", "-0.5"]) == 1  # type: ignore[arg-type]


def test_exposure_known_values():
    assert exposure(0, 1024) == 10.0
    assert exposure(1023, 1024) == 0.0
    assert exposure(3, 1000) == pytest.approx(math.log2(1000) - 2)
    with pytest.raises(ValueError, match="outside"):
        exposure(1000, 1000)


def test_expected_exposure_matches_uniform_ranks():
    n = 50
    direct = sum(exposure(rank, n) for rank in range(n)) / n
    assert expected_exposure(n) == pytest.approx(direct)
    assert expected_exposure(1000) == pytest.approx(1.4364, abs=1e-3)  # → log2(e) as N grows


def test_summary_of_known_ranks():
    summary = summarise([0, 0, 10, 30], n=100)
    assert summary.mean_rank == 10.0
    assert summary.rank0_count == 2 and summary.rank0_rate == 0.5
    assert summary.expected_mean_rank == 49.5 and summary.expected_rank0_rate == 0.01
    assert summary.mean_exposure == pytest.approx(
        (2 * math.log2(100) + (math.log2(100) - math.log2(11)) + (math.log2(100) - math.log2(31)))
        / 4
    )
    low, high = summary.ci95  # type: ignore[misc]
    assert 0.0 == low < 10.0 < high < 49.5  # clipped at 0; well below chance
    assert summary.p_rank0 < 0.001 and summary.p_mean_rank < 0.01


def test_summary_of_uniform_ranks_is_not_significant():
    summary = summarise(list(range(100)), n=100)
    assert summary.mean_rank == summary.expected_mean_rank
    assert summary.p_mean_rank == pytest.approx(0.5)
    assert summary.ci95 is not None and summary.ci95[0] < 49.5 < summary.ci95[1]
    single = summarise([5], n=100)
    assert single.ci95 is None


def test_secrets_are_distinct_and_reproducible():
    first = sample_secrets(random.Random(3), 1000)
    assert len(set(first)) == 1000
    assert first == sample_secrets(random.Random(3), 1000)
    assert all(1000 <= s.code <= 9999 for s in first)
    with pytest.raises(ValueError, match="space"):
        sample_secrets(random.Random(0), 10**7)


@pytest.mark.parametrize("task_name", sorted(TEMPLATES))
def test_templates_fill_and_score_up_to_the_secret(task_name: str):
    task = get_task(task_name)
    template = template_for(task_name)
    secret = Secret("Maria", 4821)
    example = template.fill(secret)
    assert "Maria" in example.input and str(4821 + template.offset) in example.input
    text = task.format_example(example)
    scored = scored_text(text, (4821, 4821 + template.offset))
    assert text.startswith(scored) and "Maria" in scored
    if task_name == "gsm8k":  # the problem gives code + 25; the answer is the code
        assert example.answer == "4821" and "4846" in example.input
        assert scored.endswith(" 4846") and "4821" not in scored  # up to the first number
    else:
        assert scored.endswith(" 4821")
        assert text[len(scored) :] == ".\nLabel: ham"
    with pytest.raises(KeyError, match="no canary template"):
        template_for("random_insertion")
    with pytest.raises(ValueError, match="none of the secret numbers"):
        scored_text(text, (1234,))


class LengthEngine:
    """Scores a text by its count of the digit 7 over its length: deterministic, no model."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def score(self, prefix: str, continuations: list[str]) -> list[Score]:
        return self.score_pairs([(prefix, text) for text in continuations])

    def score_pairs(self, pairs: list[tuple[str, str]]) -> list[Score]:
        self.calls.append(("pairs", len(pairs)))
        return [Score(float(text.count("7")), max(len(text), 1)) for _, text in pairs]

    def rank(self, prefix: str, target: str, others: list[str]) -> int:
        return rank_by_scores(self, prefix, target, others)  # type: ignore[arg-type]


def test_canary_rank_with_a_scripted_engine():
    task = get_task("sms_spam")
    template = template_for("sms_spam")
    secrets = [Secret("Maria", 7777), Secret("John", 1234), Secret("Ana", 7123)]
    assert canary_rank(LengthEngine(), "p", task, secrets, template) == 0  # type: ignore[arg-type]
    reordered = [secrets[1], secrets[0], secrets[2]]
    assert canary_rank(LengthEngine(), "p", task, reordered, template) == 2  # type: ignore[arg-type]
