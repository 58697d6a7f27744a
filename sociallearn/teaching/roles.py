"""Which models of a run must give likelihoods, checked before the run teaches.

A chat model (`ChatModelTeacher`) gives none, and a served model only where its server echoes
prompt log-probabilities: a run that needs them from such a model fails at its start, naming the
role and the missing operation, instead of after its teachers have worked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sociallearn.core.lm import require_likelihoods
from sociallearn.teaching.aggregators import get_aggregator
from sociallearn.teaching.methods import get_method

if TYPE_CHECKING:
    from sociallearn.tasks import Task
    from sociallearn.teaching.resources import Resources
    from sociallearn.teaching.settings import Settings


def likelihood_roles(
    settings: Settings, task: Task, *, student_answers: bool
) -> dict[str, tuple[str, bool]]:
    """The roles of a run that score continuations, each with its model's name and whether it
    scores only the task's labels (each one token: a served model reads them from generated
    tokens, where other continuations need the prompt's log-probabilities).

    `student_answers`: the student answers queries (or a test set) after teaching."""
    roles: dict[str, tuple[str, bool]] = {}
    method = get_method(settings.method)
    votes = get_aggregator(settings.aggregator).votes
    labels = bool(task.labels)
    if settings.teachers and method.teacher_scores:
        roles[f"teacher model (it {method.teacher_scores})"] = (settings.teacher_model, False)
    if settings.teachers and votes:
        role = f"{settings.vote_judge} model (teachers vote with it on their held-back examples)"
        roles[role] = (settings.judging_model(), labels)
    if settings.refine_rounds:
        role = "student model (refining teachers check drafts with it)"
        roles[role] = (settings.student_model, labels)
    if student_answers and task.labels:
        roles["student model (it scores the labels)"] = (settings.student_model, True)
    return roles


def check_likelihoods(resources: Resources, *, student_answers: bool) -> None:
    """Raise `MissingOperation` for the first role whose model cannot give likelihoods."""
    settings = resources.settings
    roles = likelihood_roles(settings, resources.task, student_answers=student_answers)
    for role, (name, labels_only) in roles.items():
        require_likelihoods(resources.models.get(name), role, labels_only=labels_only)
