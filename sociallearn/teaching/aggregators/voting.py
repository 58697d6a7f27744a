"""Voting, as in the paper, and voting that keeps the labels balanced.

Each teacher scores every candidate by the length-normalised likelihood of its own held-back
examples given that candidate as the student's prompt, and votes for its best; the most-voted
candidate wins. The likelihood is its own model's (the paper) or, with `vote_judge: student`, a
local copy of the student's, the model that will read the winner. To choose several lessons,
voting repeats over the candidates not yet chosen.

`balanced_voting` takes the voted ranking one label at a time in turn, on classification tasks.
Measured on SMS spam (benchmarks/results/paper_tables_full.json): plain voting twice in three
runs filled the prompt with spam alone (55.3% → 71.3% with balancing); a random draw is
unbiased and, balanced the same way, did worse (74.3% → 64.3%), so it is left as drawn.
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sociallearn.core.lm import MissingOperation, ModelUnavailable
from sociallearn.core.schema import Lesson
from sociallearn.teaching.aggregators.base import Aggregator, Ballot
from sociallearn.teaching.judging import held_out_scores
from sociallearn.teaching.remote import TeacherServiceError
from sociallearn.teaching.student import prompt_from_lessons

log = logging.getLogger(__name__)


class Voting(Aggregator):
    name = "voting"
    votes = True

    def choose(self, candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
        return vote(ballot, candidates, wanted)


class BalancedVoting(Aggregator):
    name = "balanced_voting"
    votes = True

    def choose(self, candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
        if not ballot.context.resources.task.labels:
            return vote(ballot, candidates, wanted)
        return take_by_label(vote(ballot, candidates, len(candidates)), wanted)


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


def vote(ballot: Ballot, candidates: list[Lesson], wanted: int) -> list[Lesson]:
    """Every teacher scores every candidate on its held-back examples; then `elect`."""
    table = score_table(ballot, candidates)
    return [candidates[i].model_copy(update={"votes": votes}) for i, votes in elect(table, wanted)]


def score_table(ballot: Ballot, candidates: list[Lesson]) -> list[list[float]]:
    """`table[t][c]`: teacher t's score of candidate c alone as the student's prompt, on its
    held-back examples. Teacher services judge in parallel; one that cannot answer abstains
    (its row is left out), and so does a local teacher whose model fails."""
    resources = ballot.context.resources
    task = resources.task
    settings = ballot.context.settings
    preambles = [prompt_from_lessons(task, [candidate]) for candidate in candidates]
    remote = {
        t: resources.remote_teachers[t] for t in ballot.teachers if t in resources.remote_teachers
    }
    with ThreadPoolExecutor(max_workers=max(1, len(remote))) as pool:
        asked = {
            t: pool.submit(service.judge, t, settings, preambles) for t, service in remote.items()
        }
        table: list[list[float]] = []
        for teacher in ballot.teachers:
            if teacher not in asked:
                silo = resources.split.silos[teacher]
                model = resources.models.get(settings.judging_model())
                try:
                    table.append(
                        held_out_scores(model, task, silo, preambles, settings.votes_held_out)
                    )
                except (ModelUnavailable, MissingOperation) as exc:
                    log.warning("%s abstains from the vote: %s", teacher, exc)
                continue
            try:
                table.append(asked[teacher].result())
            except TeacherServiceError as exc:
                log.warning("%s abstains from the vote: %s", teacher, exc)
    return table


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
        votes = tally(scores, remaining)
        best = max(remaining, key=lambda i: (votes[i], totals[i], -i))
        chosen.append((best, votes[best]))
        remaining.remove(best)
    return chosen


def tally(scores: list[list[float]], remaining: list[int]) -> Counter[int]:
    """Votes per candidate: each teacher votes for its best remaining candidate (ties: the lower
    index)."""
    return Counter(max(remaining, key=lambda i: (row[i], -i)) for row in scores)
