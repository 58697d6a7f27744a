"""The privacy boundary: a teacher's drafts become lessons only if the privacy filter passes them.

With `privacy.enabled` off (a measurement baseline), every draft passes unchanged and its
verdict says "filter disabled" with what the filter would have rejected it for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sociallearn.core.schema import Lesson, Verdict
from sociallearn.privacy.filter import (
    FilterSettings,
    check,
    check_answer,
    mentioned_in_either,
    redact_mentions,
)
from sociallearn.tasks import Example
from sociallearn.teaching.workspace import Draft, TeacherWorkspace

if TYPE_CHECKING:
    from sociallearn.teaching.settings import Settings


def filter_drafts(
    workspace: TeacherWorkspace, drafts: list[Draft], run_id: str
) -> tuple[list[Lesson], Counter[str]]:
    """The lessons made of the drafts that pass, and how many were rejected for what."""
    accepted: list[Lesson] = []
    reasons: Counter[str] = Counter()
    for draft, verdict, shared in verdicts(workspace, drafts):
        if verdict.passed:
            accepted.append(to_lesson(workspace, draft, shared, verdict, run_id))
        else:
            reasons.update(reason.split(":")[0] for reason in verdict.reasons)
    return accepted, reasons


def shared_drafts(workspace: TeacherWorkspace, drafts: list[Draft]) -> list[Draft]:
    """The drafts as the filter would share them: rejected ones left out, redactions applied.
    They stay in the workspace (a refining teacher checks them)."""
    task = workspace.task
    return [
        Draft(shared, None, draft.mean_logprob)
        if isinstance(shared, str)
        else Draft(task.format_example(shared), shared, draft.mean_logprob)
        for draft, verdict, shared in verdicts(workspace, drafts)
        if verdict.passed
    ]


def verdicts(
    workspace: TeacherWorkspace, drafts: list[Draft]
) -> Iterator[tuple[Draft, Verdict, str | Example]]:
    """Each draft with the filter's verdict and what it may share of it.

    An instruction is checked whole, an example by its input and its answer
    (`check_example`); rare numbers are those of the private examples' inputs and answers.
    """
    run_filter = filter_settings(workspace.settings)
    private = workspace.silo.private_texts()
    records = workspace.silo.private_records()
    for draft in drafts:
        if draft.example is None:
            verdict, text = check(draft.text, private, run_filter, number_texts=records)
            yield draft, verdict, text
        else:
            verdict, example = check_example(
                draft.example, private, run_filter, records=records, labels=workspace.task.labels
            )
            yield draft, verdict, example


def check_example(
    example: Example,
    private_texts: Sequence[str],
    settings: FilterSettings,
    *,
    records: Sequence[str],
    labels: tuple[str, ...],
) -> tuple[Verdict, Example]:
    """The verdict on a synthetic example, and the example as it may be shared.

    The input is checked like an instruction, an answer that is more than a label (a worked
    GSM8K answer, a number, a word) by `check_answer`. An answer cannot lose a number and stay
    right, so an example whose input held a private number is dropped (its answer is worked
    from it), and so is a bare answer that would need redacting. A name, place or organisation
    found in either text is redacted in both, so that the two agree.
    """
    verdict, shared_input = check(example.input, private_texts, settings, number_texts=records)
    if example.output in labels:
        return verdict, example.model_copy(update={"input": shared_input})
    answer, shared_output = check_answer(
        example.output, shared_input, settings, number_texts=records
    )
    reasons = [*verdict.reasons, *(r for r in answer.reasons if r not in verdict.reasons)]
    if verdict.redactions.get("code"):
        reasons.append("answer: worked from a private number")
    elif answer.redactions and example.output == example.answer:
        reasons.append("answer: a bare answer that would need redacting")
    answer_failed = len(reasons) > len(verdict.reasons)  # a reason that is not the input's
    redactions = Counter(verdict.redactions) + Counter(answer.redactions)
    if settings.enabled and settings.pii == "redact":
        found = mentioned_in_either(example.input, example.output, settings)
        shared_input, in_question = redact_mentions(shared_input, found)
        shared_output, in_answer = redact_mentions(shared_output, found)
        redactions += Counter(in_question) + Counter(in_answer)
    merged = Verdict(
        passed=not settings.enabled or (verdict.passed and not answer_failed),
        reasons=reasons,
        redactions=dict(redactions),
        max_similarity=verdict.max_similarity,
    )
    shared = example.model_copy(update={"input": shared_input, "output": shared_output})
    return merged, shared


def filter_settings(settings: Settings) -> FilterSettings:
    """The run's filter settings, with the run's planted canary (if any) among the canaries."""
    if settings.canary and settings.privacy.planted_canary:
        return replace(settings.privacy, canaries=(*settings.privacy.canaries, settings.canary))
    return settings.privacy


def to_lesson(
    workspace: TeacherWorkspace,
    draft: Draft,
    shared: str | Example,
    verdict: Verdict,
    run_id: str,
) -> Lesson:
    """The lesson that carries a draft's filtered instruction or example, with its provenance."""
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
    if isinstance(shared, str):
        return Lesson(kind="instruction", text=shared, **common)
    return Lesson(
        kind="example",
        text=task.format_example(shared),
        input=shared.input,
        output=shared.output,
        answer=shared.answer,
        **common,
    )
