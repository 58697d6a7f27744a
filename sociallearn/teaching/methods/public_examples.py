"""Public examples: a teacher drafts examples from the task's description alone.

The teacher never reads its silo to draft them (k samples at temperature τ, each conditioned on
a label on a classification task, the likeliest `keep` kept, labels in turn), so the drafts
cost the silo no privacy; the silo's part is the choice among them, which `dp_choice` makes
differentially private. With the `random` aggregator no private data is used at all: the
public control of a private choice.
"""

from __future__ import annotations

from sociallearn.teaching.drafting import public_examples
from sociallearn.teaching.methods.base import TeachingMethod
from sociallearn.teaching.workspace import Draft, TeacherWorkspace


class PublicExamples(TeachingMethod):
    name = "public_examples"
    teacher_scores = "ranks its drafts by perplexity"

    def draft(self, workspace: TeacherWorkspace, feedback: list[str], seed: int) -> list[Draft]:
        return public_examples(workspace, seed)
