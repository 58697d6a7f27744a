"""Differentially private voting: report-noisy-max over the teachers' votes.

Each round every teacher votes for its best candidate not yet chosen (as in `voting.elect`),
Laplace noise of scale 2/ε is added to every candidate's vote count, and the noisy maximum is
chosen: Report Noisy Max (Dwork & Roth, *The Algorithmic Foundations of Differential Privacy*,
2014, §3.3), the LNMax aggregator of PATE (Papernot et al., ICLR 2017). The privacy unit is one
teacher's whole silo: replacing it changes that teacher's vote, which moves two counts by 1 each
in opposite directions, so the counts are not monotone and the scale is 2Δ/ε with Δ = 1 (not
1/ε) for ε-DP per selection. Only the winner is released: the lessons carry no vote counts.

`wanted` selections compose adaptively (`total_privacy`). The guarantee covers the choice,
which reads the teachers' held-back examples; the candidates' texts are drafted from the silos
and are protected by the privacy filter, not by ε. The noise comes from the OS's entropy
(`dp_secure_noise`, the default): seeded noise would repeat from the run id and seed that every
lesson publishes, so anyone could subtract it; it is there to measure accuracy repeatably.
"""

from __future__ import annotations

import math
import random

from sociallearn.core.schema import Lesson
from sociallearn.privacy.noise import report_noisy_max
from sociallearn.teaching.aggregators.base import Aggregator, Ballot, dp_noise
from sociallearn.teaching.aggregators.voting import score_table, tally


class DPVoting(Aggregator):
    name = "dp_voting"
    votes = True

    def choose(self, candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
        settings = ballot.context.settings
        table = score_table(ballot, candidates)
        winners = noisy_elect(table, wanted, settings.dp_epsilon, dp_noise(ballot, self.name))
        epsilon, delta = total_privacy(settings.dp_epsilon, len(winners), settings.dp_delta)
        accounting = {"dp_epsilon": settings.dp_epsilon, "dp_epsilon_total": epsilon}
        return [
            candidates[i].model_copy(
                update={"settings": {**candidates[i].settings, **accounting, "dp_delta": delta}}
            )
            for i in winners
        ]


def noisy_elect(
    scores: list[list[float]], wanted: int, epsilon: float, rng: random.Random
) -> list[int]:
    """Rounds of report-noisy-max over the teachers' votes; the chosen candidate indices.

    `scores[t][c]` is teacher t's score of candidate c; each round is ε-DP for one teacher.
    """
    if not scores:
        return []
    remaining = list(range(len(scores[0])))
    chosen: list[int] = []
    while remaining and len(chosen) < wanted:
        votes = tally(scores, remaining)
        best = remaining[report_noisy_max([votes[i] for i in remaining], epsilon, rng)]
        chosen.append(best)
        remaining.remove(best)
    return chosen


def total_privacy(epsilon: float, selections: int, delta: float) -> tuple[float, float]:
    """(ε, δ) of `selections` adaptive ε-DP selections: the smaller ε of basic composition
    (k·ε, δ = 0) and the advanced composition theorem (Dwork, Rothblum & Vadhan 2010; Dwork &
    Roth 2014, Thm 3.20): ε·√(2k·ln(1/δ)) + k·ε·(e^ε − 1), with δ = `delta`."""
    basic = selections * epsilon
    if delta > 0 and selections > 0:
        advanced = epsilon * math.sqrt(2 * selections * math.log(1 / delta)) + (
            selections * epsilon * math.expm1(epsilon)
        )
        if advanced < basic:
            return advanced, delta
    return basic, 0.0
