"""Teachers that refine their lessons with a local copy of the student (beyond the paper).

The student's model is public, so a teacher can run it on its own held-back private examples:
it builds the student's prompt from its drafts, measures the student's held-back accuracy,
reads the errors and revises the drafts (feedback-driven, in the manner of ProTeGi and
TextGrad), for up to R rounds (`refine_rounds`) or until the accuracy stops improving, and
keeps the best drafts. With `refine_candidates` K > 1 each revision proposes K candidates (the
first greedy, the others sampled at τ) and the next round checks them all, a beam in the
manner of ProTeGi. With `separate_feedback` the errors a revision reads are the student's on
the teacher's teaching examples (not its shots), so that the held-back check does not reward a
revision for fixing the very errors it was shown. The teacher's examples appear only in its
own prompts to its own model; drafts, errors and the best drafts stay in its workspace, and
only the final drafts go on to the privacy filter. The loop chooses among drafts on one half
of the held-back examples and accepts its choice on the other (`accept`): the refined drafts
replace the first ones only when they clearly do better there. Each round checks the drafts
as the filter would share them (rejected ones left out, redactions applied), so the loop
refines what the student will read, and a revision tops up what the filter removed.

- Instructions: the teacher's model rewrites the instruction, shown a few of the examples the
  student got wrong with it, or (`instruction_revision: redraft`) writes a new one as it wrote
  the first, from its examples and notes, told of the errors but not shown the current
  instruction.
- Synthetic examples: examples whose removal raises the student's held-back likelihood
  (leave-one-out) are dropped (if none, the least helpful one of a full set), and new examples
  (first of each label the dropped ones leave without an example, so that a label's last
  example is replaced, not lost; then of the labels the student got wrong) are sampled in
  their place, one label at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from sociallearn.core import prompts
from sociallearn.core.lm import LanguageModel
from sociallearn.tasks import Example, Task
from sociallearn.teaching.drafting import (
    INSTRUCTION_TOKENS,
    balanced_samples,
    sampled_examples,
    write_instruction,
)
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.judging import check_halves, labels_in_turn, scores_on
from sociallearn.teaching.sharing import shared_drafts
from sociallearn.teaching.student import Student, build_prompt
from sociallearn.teaching.workspace import Draft, Miss, TeacherWorkspace

SHOWN_ERRORS = 4  # wrong answers shown to the teacher's model per revised instruction


@dataclass(frozen=True)
class RoundResult:
    """One round of the loop: the held-back accuracy of the drafts checked, whether a revision
    now waits in the workspace for the next round's check, and after the last round the
    acceptance check (`accept`)."""

    accuracy: float
    revised: bool
    acceptance: dict[str, float] = field(default_factory=dict)


def keep_refining(accuracies: Sequence[float], rounds: int) -> bool:
    """Whether to revise again, given the accuracy of each round's drafts so far (round 0: the
    first drafts): fewer than `rounds` revisions made, and the last drafts beat every earlier
    one without being perfect already."""
    revisions = len(accuracies) - 1
    if revisions >= rounds or accuracies[-1] >= 1.0:
        return False
    return revisions == 0 or accuracies[-1] > max(accuracies[:-1])


def refine_round(
    workspace: TeacherWorkspace,
    student_model: LanguageModel,
    accuracies: Sequence[float],
    seed: int,
) -> RoundResult:
    """Check the round's candidates (round `len(accuracies)`; round 0: the first drafts) and
    record the best of them; then revise while the loop goes on, or leave the best drafts so
    far in the workspace for the privacy filter. First drafts the filter passes none of are
    checked as the student without a lesson, the score a revision must beat. A revision the
    filter passes none of is not checked (the student would read none of it): if no revision of
    a round passes, the round scores the best drafts so far and the teacher revises again while
    rounds remain."""
    if not accuracies:
        workspace.best_drafts, workspace.best_accuracy, workspace.round_errors = [], -1.0, []
        workspace.candidates = [workspace.drafts]
        workspace.first_drafts = workspace.drafts
    settings, accuracy, passed = workspace.settings, -1.0, False
    held, _ = check_halves(workspace.task, workspace.silo, settings.votes_held_out)
    for candidate in workspace.candidates:
        drafts = shared_drafts(workspace, candidate)
        if not drafts and accuracies:
            continue
        passed = True
        checked, misses = self_check(workspace, student_model, drafts, held)
        accuracy = max(accuracy, checked)
        if checked > workspace.best_accuracy:
            workspace.best_drafts, workspace.best_accuracy = drafts, checked
            workspace.round_errors = misses
    if not passed:
        accuracy = workspace.best_accuracy
    rejected_round = not passed and len(accuracies) < settings.refine_rounds
    if rejected_round or keep_refining([*accuracies, accuracy], settings.refine_rounds):
        # With `separate_feedback`, the errors the revision reads are those of the best drafts
        # (or of no lesson) on other examples than those checked, found again after each check.
        if settings.separate_feedback and passed:
            _, workspace.round_errors = self_check(
                workspace, student_model, workspace.best_drafts, feedback_examples(workspace)
            )
        candidates = revise(workspace, student_model, seed)
        if candidates:
            workspace.candidates = candidates
            return RoundResult(accuracy, revised=True)
    # Nothing the filter passes: the first drafts go on, for the filter to reject with reasons.
    workspace.drafts, acceptance = accept(workspace, student_model)
    workspace.candidates = []
    return RoundResult(accuracy, revised=False, acceptance=acceptance)


def accept(
    workspace: TeacherWorkspace, student_model: LanguageModel
) -> tuple[list[Draft], dict[str, float]]:
    """The drafts that go on to the filter, and the acceptance check's numbers: the best
    revision replaces the first drafts only if, on held-back examples that chose nothing
    (`check_halves`), the student does clearly better with it (`clearly_better`)."""
    best, first = workspace.best_drafts, workspace.first_drafts
    if not best:
        return workspace.drafts, {}
    shared_first = shared_drafts(workspace, first)
    _, held = check_halves(workspace.task, workspace.silo, workspace.settings.votes_held_out)
    if best == shared_first or not held:
        return best, {}
    before = correctness(workspace, student_model, shared_first, held)
    after = correctness(workspace, student_model, best, held)
    adopted = clearly_better(after, before)
    acceptance = {
        "first": sum(before) / len(held),
        "refined": sum(after) / len(held),
        "adopted": float(adopted),
    }
    return (best if adopted else first), acceptance


def clearly_better(ours: Sequence[bool], theirs: Sequence[bool]) -> bool:
    """Whether `ours` beats `theirs` on the same examples by more than the check's noise: the
    examples only ours gets right outnumber those only theirs gets right by more than the
    standard deviation of that difference under no effect (a sign test at z > 1)."""
    wins = sum(a and not b for a, b in zip(ours, theirs, strict=True))
    losses = sum(b and not a for a, b in zip(ours, theirs, strict=True))
    return wins - losses > math.sqrt(wins + losses)


def correctness(
    workspace: TeacherWorkspace,
    student_model: LanguageModel,
    drafts: Sequence[Draft],
    held: Sequence[Example],
) -> list[bool]:
    """Whether the student answers each of `held` rightly after a prompt built from `drafts`."""
    student = Student.for_settings(student_model, workspace.task, workspace.settings)
    result = evaluate(student, student_prompt(workspace.task, drafts), held)
    return [prediction.correct for prediction in result.predictions]


def student_prompt(task: Task, drafts: Sequence[Draft]) -> str:
    """The student's prompt preamble built from drafts (instructions first, then examples)."""
    return build_prompt(
        task,
        instructions=[draft.text for draft in drafts if draft.example is None],
        examples=[draft.text for draft in drafts if draft.example is not None],
    )


def self_check(
    workspace: TeacherWorkspace,
    student_model: LanguageModel,
    drafts: Sequence[Draft],
    held: Sequence[Example],
) -> tuple[float, list[Miss]]:
    """The student's accuracy on the teacher's examples `held` after a prompt built from
    `drafts`, and the examples it got wrong."""
    task, settings = workspace.task, workspace.settings
    student = Student.for_settings(student_model, task, settings)
    result = evaluate(student, student_prompt(task, drafts), held)
    misses = [
        Miss(example, prediction.predicted)
        for example, prediction in zip(held, result.predictions, strict=True)
        if not prediction.correct
    ]
    return result.accuracy, misses


def feedback_examples(workspace: TeacherWorkspace) -> list[Example]:
    """The examples whose errors a revision reads: the held-back check's, or with
    `separate_feedback` as many of the teacher's teaching examples other than its shots,
    labels in turn."""
    task, silo, settings = workspace.task, workspace.silo, workspace.settings
    if not settings.separate_feedback:
        return check_halves(task, silo, settings.votes_held_out)[0]
    shots = set(workspace.shots())
    pool = [e for e in silo.examples if e not in shots and e != silo.canary]
    return labels_in_turn(task, pool, settings.votes_held_out)


def revise(
    workspace: TeacherWorkspace, student_model: LanguageModel, seed: int
) -> list[list[Draft]]:
    """Up to `refine_candidates` new sets of drafts made from the best drafts and the student's
    errors with them, each different from the best ([]: no errors or nothing new). When the
    filter passed none of the first drafts, the best is no lesson and they are made from the
    errors alone: an instruction redrafted, examples sampled anew."""
    best, first = workspace.best_drafts, workspace.drafts
    if not first or not workspace.round_errors:
        return []
    count = workspace.settings.refine_candidates
    seeds = [seed * count + i for i in range(count)]
    if first[0].example is None:
        candidates = [revise_instruction(workspace, s, greedy=i == 0) for i, s in enumerate(seeds)]
    else:
        kept = without_harmful(workspace, student_model, best) if best else []
        candidates = [revise_examples(workspace, kept, s) for s in seeds]
    unique: list[list[Draft]] = []
    for drafts in candidates:
        if drafts and drafts != best and drafts not in unique:
            unique.append(drafts)
    return unique


def revise_instruction(workspace: TeacherWorkspace, seed: int, *, greedy: bool) -> list[Draft]:
    """The instruction revised by the teacher's model from the student's errors with it
    (greedily, or sampled at τ for another candidate): rewritten whole, or with
    `instruction_revision: redraft` (and whenever there is no current one) written anew from the
    teacher's examples and the errors, the current one unseen."""
    task, revision = workspace.task, workspace.settings.instruction_revision
    errors = error_feedback(workspace)
    if revision == "redraft" or not workspace.best_drafts:
        text = write_instruction(workspace, [], seed, sampled=not greedy, errors=errors)
        return [Draft(text)] if text else []
    current = "\n".join(draft.text for draft in workspace.best_drafts)
    values = {"description": task.description, "instruction": current, "errors": errors}
    text = workspace.model.instruct(
        prompts.REFINE_INSTRUCTION.format(**values),
        base_prompt=prompts.REFINE_INSTRUCTION_BASE.format(**values),
        max_tokens=INSTRUCTION_TOKENS,
        temperature=0.0 if greedy else workspace.settings.temperature,
        seed=seed,
    ).strip()
    return [Draft(text)] if text else []


def error_feedback(workspace: TeacherWorkspace) -> str:
    """The student's errors as the teacher's revision reads them: the first `SHOWN_ERRORS`."""
    task = workspace.task
    return prompts.EXAMPLE_SEPARATOR.join(
        prompts.REFINE_ERROR.format(example=task.format_example(m.example), predicted=m.predicted)
        for m in workspace.round_errors[:SHOWN_ERRORS]
    )


def revise_examples(workspace: TeacherWorkspace, kept: list[Draft], seed: int) -> list[Draft]:
    """`kept` (the best examples less the harmful ones) topped up to `keep` with new examples
    of the labels the student got wrong (of any kind, on tasks without labels), first of each
    label the dropped examples leave without one."""
    task, settings = workspace.task, workspace.settings
    wrong = {miss.example.answer for miss in workspace.round_errors}
    shown = {d.example.answer for d in workspace.best_drafts if d.example}
    lost = shown - {d.example.answer for d in kept if d.example}
    labels = [label for label in task.labels if label in lost]
    labels += [label for label in task.labels if label in wrong - lost]
    fresh = (
        balanced_samples(workspace, seed, labels) if labels else sampled_examples(workspace, seed)
    )
    seen = {draft.text for draft in workspace.best_drafts}
    return kept + [d for d in fresh if d.text not in seen][: settings.keep - len(kept)]


def without_harmful(
    workspace: TeacherWorkspace, student_model: LanguageModel, drafts: list[Draft]
) -> list[Draft]:
    """`drafts` less those whose removal raises the student's likelihood of the held-back
    examples (leave-one-out); if none, less the least helpful one when the set is full."""
    task, settings = workspace.task, workspace.settings
    preambles = [student_prompt(task, drafts)] + [
        student_prompt(task, drafts[:i] + drafts[i + 1 :]) for i in range(len(drafts))
    ]
    held, _ = check_halves(task, workspace.silo, settings.votes_held_out)
    full, *without = scores_on(student_model, task, held, preambles)
    harmful = {i for i, score in enumerate(without) if score > full}
    if not harmful and len(drafts) >= settings.keep:
        harmful = {max(range(len(drafts)), key=lambda i: without[i])}
    return [draft for i, draft in enumerate(drafts) if i not in harmful]
