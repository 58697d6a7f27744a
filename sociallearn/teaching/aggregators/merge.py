"""Merge (beyond the paper): one instruction written from the teachers' instructions.

The teacher model reads the m filtered instructions (never private data) and writes one that
keeps each rule once and settles conflicts by majority. The merged instruction goes through the
privacy filter (no private texts to compare with, but PII, canaries and leak instructions are
still checked) and then competes with the single instructions in the teachers' vote on their
held-back data (`voting.vote`): the winner, merged or single, is the student's instruction.
Its provenance records the outcome (`merge`) and, for a merged lesson, its sources
(`merged_from`). On example lessons, merging means nothing: it votes.
"""

from __future__ import annotations

from sociallearn.core import prompts
from sociallearn.core.schema import Lesson
from sociallearn.privacy.filter import check
from sociallearn.teaching.aggregators.base import Aggregator, Ballot
from sociallearn.teaching.aggregators.voting import vote
from sociallearn.teaching.sharing import filter_settings

MERGED_TEACHER = "merged"


class Merge(Aggregator):
    name = "merge"

    def choose(self, candidates: list[Lesson], wanted: int, ballot: Ballot) -> list[Lesson]:
        if any(candidate.kind != "instruction" for candidate in candidates):
            return vote(ballot, candidates, wanted)
        merged, outcome = merge_instructions(candidates, ballot)
        entrants = candidates if merged is None else [merged, *candidates]
        winners = vote(ballot, entrants, wanted)
        if merged is not None:
            won = any(winner.teacher_id == MERGED_TEACHER for winner in winners)
            outcome = "merged won the vote" if won else "a single instruction won the vote"
        return [
            winner.model_copy(update={"settings": {**winner.settings, "merge": outcome}})
            for winner in winners
        ]


def merge_instructions(candidates: list[Lesson], ballot: Ballot) -> tuple[Lesson | None, str]:
    """The merged instruction, if the model wrote one that the filter passes, and what became
    of it otherwise."""
    context = ballot.context
    settings, task = context.settings, context.resources.task
    listed = prompts.EXAMPLE_SEPARATOR.join(
        prompts.MERGE_ITEM.format(number=number, instruction=lesson.text)
        for number, lesson in enumerate(candidates, start=1)
    )
    values = {"description": task.description, "instructions": listed}
    text = context.resources.teacher_model.instruct(
        prompts.MERGE_INSTRUCTIONS.format(**values),
        base_prompt=prompts.MERGE_INSTRUCTIONS_BASE.format(**values),
        max_tokens=300,
        temperature=0.0,
        seed=settings.seed,
    ).strip()
    if not text:
        return None, "merging wrote nothing"
    verdict, clean = check(text, [], filter_settings(settings))
    if not verdict.passed:
        return None, "merged rejected by the filter: " + "; ".join(verdict.reasons)
    merged = Lesson(
        task=settings.task,
        kind="instruction",
        text=clean,
        teacher_id=MERGED_TEACHER,
        teacher_model=settings.teacher_model,
        run_id=ballot.run_id,
        method=settings.method,
        settings={
            **settings.provenance(),
            "merged_from": ",".join(lesson.id for lesson in candidates),
        },
        verdict=verdict,
    )
    return merged, "merged"
