"""A differentially private choice of the student's whole prompt, counted per private example.

The candidates are dealt at random (labels in turn) into prompts of `wanted` lessons each. The
student's model, as the student reads a prompt, answers each teacher's held-back examples
(`votes_held_out` per teacher) after each candidate prompt; a prompt's utility is the number of
those answers that are right, over all the silos. One prompt is chosen by report-noisy-max:
Laplace noise of scale 2/ε on each count, the noisy maximum wins (Dwork & Roth, *The
Algorithmic Foundations of Differential Privacy*, 2014, §3.3). The privacy unit is one
held-back example, the only private data the choice reads: adding or removing one changes each
count by at most 1 (it is answered, and at most one other leaves the first `votes_held_out`), so
the choice is ε-DP (δ = 0), and it is the run's only one: the run's total ε is `dp_epsilon`.

`dp_voting` protects a teacher's whole silo with 8 votes in all, so at ε ≤ 1 its noise drowns
them; here every held-back example answers, so the counts stand far above the noise. The
guarantee covers everything the silos give when the candidates were drafted without them
(`public_examples`); drafted from the silos (`synthetic_examples`), the drafts are protected by
the privacy filter, not by ε. The aggregator counts in one place, as a trusted curator: teacher
services, which answer only noisy scores of their own, abstain. Domain calibration would draw
its inputs from the held-back examples themselves (one example would move every answer), so the
choice calibrates content-free instead.
"""

from __future__ import annotations

import logging
import random

from sociallearn.core.schema import Lesson
from sociallearn.privacy.noise import report_noisy_max
from sociallearn.tasks import Example
from sociallearn.teaching.aggregators.base import Aggregator, Ballot, dp_noise
from sociallearn.teaching.aggregators.voting import take_by_label
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.judging import judging_examples
from sociallearn.teaching.student import Student, prompt_from_lessons

log = logging.getLogger(__name__)


class DPChoice(Aggregator):
    name = "dp_choice"
    votes = True

    def choose(self, candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
        settings = ballot.context.settings
        prompts = candidate_prompts(candidates, wanted, ballot)
        counts = right_answers(ballot, prompts)
        chosen = report_noisy_max(counts, settings.dp_epsilon, dp_noise(ballot, self.name))
        accounting = {
            "dp_epsilon": settings.dp_epsilon,
            "dp_epsilon_total": settings.dp_epsilon,
            "dp_delta": 0.0,
        }
        return [
            lesson.model_copy(update={"settings": {**lesson.settings, **accounting}})
            for lesson in prompts[chosen]
        ]


def candidate_prompts(candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[list[Lesson]]:
    """The candidates dealt at random into prompts of `wanted` lessons (as many as there are
    whole prompts; labels in turn in each on a classification task). The deal reads no private
    data: it is seeded by the run id and seed."""
    rng = random.Random(f"{ballot.run_id}:{ballot.context.settings.seed}:deal")
    shuffled = rng.sample(candidates, len(candidates))
    if ballot.context.resources.task.labels:
        shuffled = take_by_label(shuffled, len(shuffled))
    count = max(1, len(shuffled) // wanted)
    return [shuffled[i::count][:wanted] for i in range(count)]


def right_answers(ballot: Ballot, prompts: list[list[Lesson]]) -> list[int]:
    """How many of the local teachers' held-back examples the student's model answers right
    after each prompt."""
    resources = ballot.context.resources
    settings = ballot.context.settings
    held: list[Example] = []
    for teacher in ballot.teachers:
        if teacher in resources.remote_teachers:
            log.warning("%s abstains: dp_choice counts held-back examples in-process", teacher)
            continue
        silo = resources.split.silos[teacher]
        held += judging_examples(resources.task, silo, settings.votes_held_out)
    calibration = "content_free" if settings.calibration == "domain" else settings.calibration
    judge = Student(
        resources.models.get(settings.judging_model()), resources.task, calibration=calibration
    )
    preambles = [prompt_from_lessons(resources.task, prompt) for prompt in prompts]
    return [
        sum(p.correct for p in evaluate(judge, preamble, held).predictions)
        for preamble in preambles
    ]
