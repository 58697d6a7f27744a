"""Aggregation: build the student's prompt from all teachers' surviving candidates.

`random` picks at random (seeded). `voting`: each teacher scores every candidate by the
length-normalised likelihood of its own held-back examples given that candidate as a prompt,
and votes for its best; the most-voted candidates win (ties: higher teacher likelihood).
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from langgraph.runtime import Runtime

from sociallearn.graphs.context import Context
from sociallearn.graphs.state import SocialLearningState
from sociallearn.nodes.resources import silo_of, task_of, teacher_engine
from sociallearn.nodes.student import prompt_from_lessons
from sociallearn.schema import Lesson
from sociallearn.stores.silo import TeacherSilo
from sociallearn.tasks import Task


def aggregate(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Choose the lessons for the student's prompt."""
    context = runtime.context
    candidates = sorted(state.get("candidates", []), key=lambda lesson: lesson.id)
    wanted = 1 if context.method == "instructions" else context.lessons
    if context.aggregator == "voting" and len(candidates) > wanted:
        chosen = vote(context, candidates, state.get("teacher_ids", []), wanted)
    else:
        rng = random.Random(f"{state['run_id']}:{context.seed}")
        chosen = rng.sample(candidates, min(wanted, len(candidates)))
    return {"lessons": chosen}


def vote(context: Context, candidates: list[Lesson], teacher_ids: list[str], wanted: int) -> list[Lesson]:
    task = task_of(context)
    tally: Counter[str] = Counter()
    support: Counter[str] = Counter()
    for teacher_id in teacher_ids:
        silo = silo_of(context, teacher_id)
        scores = teacher_scores(context, task, silo, candidates)
        ranked = sorted(range(len(candidates)), key=lambda i: -scores[i])
        for i in ranked[:wanted]:
            tally[candidates[i].id] += 1
        for i, score in enumerate(scores):
            support[candidates[i].id] += score
    order = sorted(candidates, key=lambda c: (-tally[c.id], -support[c.id]))
    return [c.model_copy(update={"votes": tally[c.id]}) for c in order[:wanted]]


def teacher_scores(
    context: Context, task: Task, silo: TeacherSilo, candidates: list[Lesson]
) -> list[float]:
    """Mean per-token log-likelihood of the teacher's held-back examples under each candidate."""
    held = silo.held_out[: context.votes_held_out] or silo.examples[: context.votes_held_out]
    engine = teacher_engine(context)
    pairs = [
        (prompt_from_lessons(task, [candidate]) + task.format_query(example.input), f" {example.output}")
        for candidate in candidates
        for example in held
    ]
    scores = engine.score_pairs(pairs)
    per = len(held)
    return [sum(s.mean for s in scores[i * per : (i + 1) * per]) / per for i in range(len(candidates))]
