"""Aggregation: build the student's prompt from all teachers' surviving candidates.

`random` picks at random (seeded). `voting`, as in the paper: each teacher scores every
candidate by the length-normalised likelihood of its own held-back examples given that candidate
as the student's prompt, and votes for its best; the most-voted candidate wins. To choose
several lessons, voting repeats over the candidates not yet chosen.

With `Context.balanced_generation`, voting on a classification task also keeps the labels
equal in the prompt: the voted ranking is taken one label at a time in turn. Measured on SMS
spam (benchmarks/results/paper_tables_full.md): plain voting twice in three runs filled the
prompt with spam alone (55.3% → 71.3% with balancing); a random draw is unbiased and, balanced
the same way, did worse (74.3% → 64.3%), so it is left as drawn.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from langgraph.runtime import Runtime

from sociallearn.graphs.context import Context
from sociallearn.graphs.state import SocialLearningState
from sociallearn.nodes.held_out import held_out_scores
from sociallearn.nodes.resources import silo_of, task_of
from sociallearn.nodes.student import prompt_from_lessons
from sociallearn.schema import Lesson


def aggregate(state: SocialLearningState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Choose the lessons for the student's prompt (distinct texts: the first teacher's copy)."""
    context = runtime.context
    distinct: dict[str, Lesson] = {}
    for lesson in sorted(state.get("candidates", []), key=lambda lesson: lesson.id):
        distinct.setdefault(lesson.content_hash, lesson)
    candidates = list(distinct.values())
    wanted = 1 if context.method == "instructions" else context.lessons
    if context.aggregator != "voting" or len(candidates) <= wanted:
        rng = random.Random(f"{state['run_id']}:{context.seed}")
        return {"lessons": rng.sample(candidates, min(wanted, len(candidates)))}
    if context.balanced_generation and task_of(context).labels:
        ranking = vote(context, candidates, state.get("teacher_ids", []), len(candidates))
        return {"lessons": take_by_label(ranking, wanted)}
    return {"lessons": vote(context, candidates, state.get("teacher_ids", []), wanted)}


def take_by_label(ranked: list[Lesson], wanted: int) -> list[Lesson]:
    """The first `wanted` lessons of `ranked`, taking one label at a time in turn."""
    queues: dict[str | None, list[Lesson]] = {}
    for lesson in ranked:
        queues.setdefault(lesson.answer, []).append(lesson)
    taken: list[Lesson] = []
    while len(taken) < wanted and any(queues.values()):
        for queue in queues.values():
            if queue and len(taken) < wanted:
                taken.append(queue.pop(0))
    return taken


def vote(
    context: Context, candidates: list[Lesson], teacher_ids: list[str], wanted: int
) -> list[Lesson]:
    """Every teacher scores every candidate on its held-back examples; then `elect`."""
    task = task_of(context)
    preambles = [prompt_from_lessons(task, [candidate]) for candidate in candidates]
    table = [
        held_out_scores(context, task, silo_of(context, teacher_id), preambles)
        for teacher_id in teacher_ids
    ]
    return [candidates[i].model_copy(update={"votes": votes}) for i, votes in elect(table, wanted)]


def elect(scores: list[list[float]], wanted: int) -> list[tuple[int, int]]:
    """Rounds of plurality voting over candidates; returns (candidate index, votes) per winner.

    `scores[t][c]` is teacher t's score of candidate c. Each round, every teacher votes for its
    best candidate not yet chosen and the most-voted one is chosen (ties: the higher total
    score, then the lower index), until `wanted` are chosen or none is left.
    """
    if not scores:
        return []
    remaining = list(range(len(scores[0])))
    totals = [sum(column) for column in zip(*scores, strict=True)]
    chosen: list[tuple[int, int]] = []
    while remaining and len(chosen) < wanted:
        tally = Counter(max(remaining, key=lambda i: (row[i], -i)) for row in scores)
        best = max(remaining, key=lambda i: (tally[i], totals[i], -i))
        chosen.append((best, tally[best]))
        remaining.remove(best)
    return chosen
