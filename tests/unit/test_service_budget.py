"""A teacher service's owner bounds what each request may cost and what each coordinator may
take in all: requests, lessons, the ε of noisy judge answers; remembered across restarts."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from sociallearn.core.lm import ScriptedLM
from sociallearn.engine import ModelPool
from sociallearn.graphs.teacher import graph as teacher_graph
from sociallearn.tasks import get_task
from sociallearn.teaching.judging import JUDGE_CLIP, private_scores, scores_on
from sociallearn.teaching.service import TeacherService
from sociallearn.teaching.settings import ServiceConfig, Settings

INSTRUCTION = "Spam offers prizes or money and asks for a reply; ham is everyday talk."


def service(sms_file: Path, tmp_path: Path, **owner: Any) -> TeacherService:
    config = ServiceConfig(data=str(sms_file), journal=str(tmp_path / "journal.jsonl"), **owner)
    running = TeacherService(config)
    running.models = ModelPool.fixed(ScriptedLM(lambda prompt, call: INSTRUCTION))
    return running


def teach(running: TeacherService, coordinator: str, **public: Any) -> dict[str, Any]:
    def run(context):
        return teacher_graph.invoke({"teacher_id": "teacher-0", "run_id": "r"}, context=context)

    settings = Settings(**{"method": "instructions", **public}).public()
    return running.teach("teacher-0", "r", settings, run, coordinator)


def refusal(answer: dict[str, Any]) -> str:
    (drop,) = answer["dropped"]
    return str(drop.reasons[0])


def test_the_owner_bounds_what_a_request_may_cost_and_which_methods(sms_file, tmp_path):
    running = service(sms_file, tmp_path, max_held_out=8)
    judged = running.judge("teacher-0", Settings(votes_held_out=400).public(), ["x"], "alice")
    assert "votes_held_out 400 is above this service's limit of 8" in refusal(judged)
    assert "samples 64 is above this service's limit of 16" in refusal(
        teach(running, "alice", samples=64, keep=8)
    )
    for baseline in ("original_examples", "zero_shot"):
        assert f"teaches by instructions or synthetic_examples, not {baseline}" in refusal(
            teach(running, "alice", method=baseline)
        )
    assert running.spent["alice"].requests == 0  # refused requests cost nothing


def test_requests_and_lessons_are_budgeted_per_coordinator_and_outlive_a_restart(
    sms_file, tmp_path
):
    running = service(sms_file, tmp_path, max_requests=3, max_lessons=1)
    assert len(teach(running, "alice")["candidates"]) == 1
    assert "alice has had the 1 lessons this service releases" in refusal(teach(running, "alice"))
    assert len(teach(running, "bob")["candidates"]) == 1  # bob's budget is his own
    running.judge("teacher-0", Settings().public(), ["x"], "alice")
    running.judge("teacher-0", Settings().public(), ["x"], "alice")
    restarted = service(sms_file, tmp_path, max_requests=3, max_lessons=1)
    assert (restarted.spent["alice"].requests, restarted.spent["alice"].lessons) == (3, 1)
    answer = restarted.judge("teacher-0", Settings().public(), ["x"], "alice")
    assert "alice has made the 3 requests this service allows" in refusal(answer)


def test_a_lesson_budget_withholds_what_is_over_it(sms_file, tmp_path):
    running = service(sms_file, tmp_path, max_lessons=2)
    offers = ScriptedLM(
        lambda prompt, call: f" Offer {call}: you won a prize, reply WIN\nLabel: spam"
    )
    running.models = ModelPool.fixed(offers)
    answer = teach(running, "alice", method="synthetic_examples", samples=4, keep=4)
    assert len(answer["candidates"]) == 2
    assert any("lessons withheld: the lesson budget (2) is spent" in r
               for d in answer["dropped"] for r in d.reasons)  # fmt: skip


def test_judge_answers_carry_calibrated_noise_and_spend_epsilon(sms_file, tmp_path):
    running = service(sms_file, tmp_path, judge_epsilon=1.0, max_epsilon=2.0)
    first = running.judge("teacher-0", Settings().public(), ["x", "y"], "alice")
    second = running.judge("teacher-0", Settings().public(), ["x", "y"], "alice")
    assert first["epsilon"] == second["epsilon"] == 1.0
    assert first["scores"] != second["scores"]  # fresh noise each answer
    third = running.judge("teacher-0", Settings().public(), ["x", "y"], "alice")
    assert "alice has spent ε = 2 of 2: another answer costs 1" in refusal(third)
    assert running.spent["alice"].epsilon == 2.0


def test_private_scores_add_laplace_noise_of_the_clipped_means_sensitivity(sms_file):
    task = get_task("sms_spam")
    held = task.load(sms_file)[:5]
    model = ScriptedLM(lambda prompt, call: "")  # scores −(characters): " spam" is clipped
    exact = scores_on(model, task, held, ["a", "b"], clip=JUDGE_CLIP)
    noisy = private_scores(model, task, held, ["a", "b"], 0.5, random.Random(7))
    draws, scale = random.Random(7), 2 * JUDGE_CLIP / (5 * 0.5)
    expected = [e + (draws.expovariate(1 / scale) - draws.expovariate(1 / scale)) for e in exact]
    assert noisy == pytest.approx(expected)
    assert all(-JUDGE_CLIP <= e <= 0 for e in exact)


def test_budgets_need_a_journal_and_an_epsilon_budget_needs_noise(sms_file):
    with pytest.raises(ValueError, match=r"--max-requests, --max-lessons need --journal FILE"):
        ServiceConfig(data=str(sms_file), max_requests=1, max_lessons=1)
    with pytest.raises(ValueError, match=r"--max-epsilon needs --judge-epsilon"):
        ServiceConfig(data=str(sms_file), journal="j.jsonl", max_epsilon=1.0)
