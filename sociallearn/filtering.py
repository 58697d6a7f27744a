"""The privacy boundary: a teacher's drafts become lessons only if the privacy filter passes them.

With `privacy.enabled` off (a measurement baseline), every draft passes unchanged and its
verdict says "filter disabled" with what the filter would have rejected it for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sociallearn.privacy.filter import FilterSettings, check
from sociallearn.schema import Lesson, Verdict
from sociallearn.workspace import Draft, TeacherWorkspace

if TYPE_CHECKING:
    from sociallearn.settings import Settings


def filter_drafts(
    workspace: TeacherWorkspace, drafts: list[Draft], run_id: str
) -> tuple[list[Lesson], Counter[str]]:
    """The lessons made of the drafts that pass, and how many were rejected for what.

    An instruction is checked whole, an example by its input; rare numbers are those of the
    private examples' inputs and answers. A worked answer (an output that is more than its bare
    answer) is not checked itself, so an example whose question held a private number is
    dropped: its answer is likely worked from it.
    """
    run_filter = filter_settings(workspace.settings)
    private = workspace.silo.private_texts()
    records = workspace.silo.private_records()
    accepted: list[Lesson] = []
    reasons: Counter[str] = Counter()
    for draft in drafts:
        shared = draft.example.input if draft.example else draft.text
        verdict, clean = check(shared, private, run_filter, number_texts=records)
        example = draft.example
        if verdict.redactions.get("code") and example and example.output != example.answer:
            verdict = verdict.model_copy(
                update={"passed": False, "reasons": ["answer: worked from a private number"]}
            )
        if verdict.passed:
            accepted.append(to_lesson(workspace, draft, clean, verdict, run_id))
        else:
            reasons.update(reason.split(":")[0] for reason in verdict.reasons)
    return accepted, reasons


def filter_settings(settings: Settings) -> FilterSettings:
    """The run's filter settings, with the run's planted canary (if any) among the canaries."""
    if settings.canary and settings.privacy.planted_canary:
        return replace(settings.privacy, canaries=(*settings.privacy.canaries, settings.canary))
    return settings.privacy


def to_lesson(
    workspace: TeacherWorkspace, draft: Draft, clean: str, verdict: Verdict, run_id: str
) -> Lesson:
    """The lesson that carries a draft's filtered text, with its provenance."""
    settings, task = workspace.settings, workspace.task
    common: dict[str, Any] = {
        "task": settings.task,
        "teacher_id": workspace.teacher_id,
        "teacher_model": settings.teacher_model,
        "run_id": run_id,
        "method": settings.method,
        "settings": settings.provenance(),
        "verdict": verdict,
        "mean_logprob": draft.mean_logprob,
    }
    if draft.example is None:
        return Lesson(kind="instruction", text=clean, **common)
    example = draft.example.model_copy(update={"input": clean})
    return Lesson(
        kind="example",
        text=task.format_example(example),
        input=example.input,
        output=example.output,
        answer=example.answer,
        **common,
    )
