"""Synthetic examples: k samples at temperature τ from a few-shot prompt, the likeliest kept.

Before sharing, the teacher's own few-shot classifier re-labels each sample and drops those it
labels otherwise, and the kept ones take the labels in turn (`drafting.synthesize_examples`).

Options (settings): `balanced_generation` conditions each sample on a label, labels in turn;
`teacher_check` keeps only examples that help the teacher's own held-back data.
"""

from __future__ import annotations

from sociallearn.teaching.drafting import synthesize_examples
from sociallearn.teaching.methods.base import TeachingMethod
from sociallearn.teaching.workspace import Draft, TeacherWorkspace


class SyntheticExamples(TeachingMethod):
    name = "synthetic_examples"
    teacher_scores = "ranks its synthetic examples by perplexity"

    def draft(self, workspace: TeacherWorkspace, feedback: list[str], seed: int) -> list[Draft]:
        return synthesize_examples(workspace, seed)
