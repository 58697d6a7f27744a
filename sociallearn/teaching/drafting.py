"""Lesson drafting in a teacher's workspace: notes, instructions and synthetic examples.

Drafts stay in the workspace: they have not yet been through the privacy filter.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Sequence

from sociallearn.core import prompts
from sociallearn.core.lm import Score, sample_scored
from sociallearn.core.schema import Answer
from sociallearn.tasks import Example, Task
from sociallearn.teaching.evaluate import evaluate
from sociallearn.teaching.judging import held_out_scores, interleave, judging_examples
from sociallearn.teaching.student import Student, build_prompt
from sociallearn.teaching.workspace import Draft, TeacherWorkspace


def show_examples(task: Task, examples: list[Example]) -> str:
    """Examples as the task formats them, separated by blank lines."""
    return prompts.EXAMPLE_SEPARATOR.join(task.format_example(e) for e in examples)


def write_notes(workspace: TeacherWorkspace) -> str:
    """The teacher's private notes on the patterns of its examples."""
    task = workspace.task
    prompt = prompts.TEACHER_NOTES.format(
        description=task.description, examples=show_examples(task, workspace.shots())
    )
    return workspace.model.instruct(prompt, max_tokens=160).strip()


INSTRUCTION_TOKENS = 200  # the longest instruction a teacher writes or rewrites (cut there)


def write_instruction(
    workspace: TeacherWorkspace,
    feedback: list[str],
    seed: int,
    *,
    sampled: bool = False,
    errors: str = "",
) -> str:
    """One instruction written from the teacher's examples and notes (and the filter's feedback,
    or with `errors` the student's errors with an earlier instruction): greedily at first,
    sampled at τ on a retry or when `sampled`."""
    task = workspace.task
    examples = show_examples(task, workspace.shots())
    retry = prompts.RETRY_FEEDBACK.format(reasons="; ".join(feedback)) if feedback else ""
    told = prompts.REDRAFT_FEEDBACK.format(errors=errors) if errors else ""
    prompt = prompts.WRITE_INSTRUCTION.format(
        description=task.description,
        examples=examples,
        notes=workspace.notes or "(none)",
        feedback=retry + told,
    )
    base_prompt = prompts.REDRAFT_INSTRUCTION_BASE if errors else prompts.WRITE_INSTRUCTION_BASE
    base = base_prompt.format(description=task.description, examples=examples, errors=errors)
    text = workspace.model.instruct(
        prompt,
        base_prompt=base,
        max_tokens=INSTRUCTION_TOKENS,
        temperature=workspace.settings.temperature if feedback or sampled else 0.0,
        seed=seed,
    )
    return without_repeats(text)


def without_repeats(text: str) -> str:
    """`text` without the sentences and lines it already said (a small model that loops on a
    rule until its token limit says it once); the rest unchanged."""
    seen: set[str] = set()
    kept: list[str] = []
    for line in text.strip().splitlines():
        fresh = []
        for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
            key = " ".join(sentence.lower().split())
            if key and key not in seen:
                seen.add(key)
                fresh.append(sentence)
        if fresh or not line.strip():
            kept.append(" ".join(fresh))
    return "\n".join(kept).strip()


def synthesize_examples(workspace: TeacherWorkspace, seed: int) -> list[Draft]:
    """k examples sampled at temperature τ from a few-shot prompt, the `keep` most likely kept,
    the labels in turn (the likeliest of each label first) so that no label is lost by chance.

    With `teacher_check`, only examples that help the teacher's own held-back examples (see
    `helpful_on_held_out`) are kept.
    """
    task, settings = workspace.task, workspace.settings
    if settings.balanced_generation and task.labels:
        drafts = balanced_samples(workspace, seed, task.labels)
    else:
        drafts = sampled_examples(workspace, seed)
    if settings.teacher_check:
        drafts = helpful_on_held_out(workspace, drafts)
    return labels_alternating(task, drafts)[: settings.keep]


def labels_alternating(task: Task, drafts: list[Draft]) -> list[Draft]:
    """Ranked example drafts reordered so that labels take turns, each label's in rank order."""
    if not task.labels:
        return drafts
    by_label = [
        [d for d in drafts if d.example and d.example.answer == label] for label in task.labels
    ]
    return interleave(by_label)


def labelled_as_taught(workspace: TeacherWorkspace, drafts: list[Draft]) -> list[Draft]:
    """The example drafts whose answer the teacher's own few-shot classifier does not dispute
    (its model reading its shots answers each draft's input), order kept: a message sampled as
    ham that it reads as spam, or a worked answer whose result it does not reach, is dropped;
    a label it scores level with the best stands. A teacher whose classifier is not clearly
    right on its held-back examples (`trusts_own_labels`) keeps every draft."""
    if not drafts or not trusts_own_labels(workspace):
        return drafts
    task = workspace.task
    classifier, preamble = own_classifier(workspace)
    inputs = [draft.example.input if draft.example else draft.text for draft in drafts]
    answers = classifier.answer_many(preamble, inputs)
    return [
        draft
        for draft, answer in zip(drafts, answers, strict=True)
        if draft.example is not None and agrees(task, answer, draft.example)
    ]


LABEL_CHECK_EXAMPLES = 16  # held-back examples a teacher tries its own classifier on


def own_classifier(workspace: TeacherWorkspace) -> tuple[Student, str]:
    """The teacher's few-shot classifier: its model, calibrated as the student is, reading its
    shots as its sampling prompt shows them (`few_shot_prompt`), so that each query continues
    the prompt its candidates were sampled from, already in the model's cache."""
    task = workspace.task
    classifier = Student.for_settings(workspace.model, task, workspace.settings)
    return classifier, few_shot_prompt(task, workspace.shots())


def trusts_own_labels(workspace: TeacherWorkspace) -> bool:
    """Whether the teacher's few-shot classifier is clearly right on its held-back examples
    (up to `LABEL_CHECK_EXAMPLES` of them; right answers outnumber wrong ones by more than
    √n), checked once per run: a classifier near chance would drop good drafts at random."""
    if workspace.trusts_labels is None:
        size = min(workspace.settings.votes_held_out, LABEL_CHECK_EXAMPLES)
        held = judging_examples(workspace.task, workspace.silo, size)
        classifier, preamble = own_classifier(workspace)
        right = sum(p.correct for p in evaluate(classifier, preamble, held).predictions)
        workspace.trusts_labels = right - (len(held) - right) > math.sqrt(len(held))
    return workspace.trusts_labels


def agrees(task: Task, answer: Answer, example: Example) -> bool:
    """Whether a classifier's `answer` allows the example's own answer: it is the answer, or
    (for labels) scored level with it."""
    if task.is_correct(answer.answer, example):
        return True
    scores = answer.scores or {}
    return example.answer in scores and scores[example.answer] >= max(scores.values())


def helpful_on_held_out(workspace: TeacherWorkspace, drafts: list[Draft]) -> list[Draft]:
    """The drafts that, as the student's only example, raise the likelihood of the teacher's
    held-back examples above the 0-shot prompt (order kept). Beyond the paper: it catches
    mislabelled or off-task examples before they are shared."""
    if not drafts:
        return []
    task = workspace.task
    preambles = [build_prompt(task)] + [build_prompt(task, examples=[d.text]) for d in drafts]
    baseline, *scores = held_out_scores(
        workspace.model, task, workspace.silo, preambles, workspace.settings.votes_held_out
    )
    return [draft for draft, score in zip(drafts, scores, strict=True) if score > baseline]


def few_shot_prompt(task: Task, shots: list[Example]) -> str:
    """The task description and the shots, ready for the model to continue with a new one."""
    return (
        prompts.SYNTHETIC_PREAMBLE.format(description=task.description)
        + show_examples(task, shots)
        + prompts.EXAMPLE_SEPARATOR
    )


def sampled_examples(workspace: TeacherWorkspace, seed: int) -> list[Draft]:
    """k examples sampled from the few-shot prompt of the teacher's shots, likeliest first."""
    prompt = few_shot_prompt(workspace.task, workspace.shots())
    return labelled_as_taught(workspace, samples_after(workspace, prompt, seed))


def samples_after(workspace: TeacherWorkspace, preamble: str, seed: int) -> list[Draft]:
    """k examples sampled after `preamble` (ending where a new example starts), likeliest
    first."""
    task, settings = workspace.task, workspace.settings
    prompt = preamble + f"{task.input_field}:"
    samples = sample_scored(
        workspace.model,
        prompt,
        settings.samples,
        temperature=settings.temperature,
        seed=seed,
        stop=(prompts.EXAMPLE_SEPARATOR,),
        max_tokens=task.max_answer_tokens + 96,
    )
    sampled = dict(samples)
    parsed = _unique(task.parse_generated(text) for text, _ in samples)
    items = [(e, f" {e.input}\n{task.output_field}: {e.output}") for e in parsed]
    # A sample that is exactly its example's text keeps the score it was sampled with.
    known = [sampled.get(text) for _, text in items]
    return _drafts(task, _rank(workspace, prompt, items, known))


def balanced_samples(workspace: TeacherWorkspace, seed: int, labels: Sequence[str]) -> list[Draft]:
    """Label-first few-shot prompts: each sample is conditioned on one of `labels`, which
    alternate in the ranking; k / (the task's number of labels) samples per label."""
    task, settings = workspace.task, workspace.settings
    shots = workspace.silo.balanced_shots(settings.shots, task.labels, settings.seed)
    blocks = prompts.EXAMPLE_SEPARATOR.join(
        f"{task.output_field}: {e.answer}\n{task.input_field}: {e.input}" for e in shots
    )
    preamble = (
        prompts.SYNTHETIC_PREAMBLE.format(description=task.description)
        + blocks
        + prompts.EXAMPLE_SEPARATOR
    )
    return labelled_as_taught(workspace, label_first_samples(workspace, preamble, seed, labels))


def label_first_samples(
    workspace: TeacherWorkspace,
    preamble: str,
    seed: int,
    labels: Sequence[str],
    stop: Sequence[str] = ("\n",),
) -> list[Draft]:
    """Samples after `preamble`, each conditioned on one of `labels` (written before its
    input) and ending at `stop`, k / (the task's number of labels) per label, the labels in
    turn, each label's likeliest first."""
    task, settings = workspace.task, workspace.settings
    per_label = max(1, settings.samples // len(task.labels))
    ranked_by_label = []
    for label in labels:
        index = task.labels.index(label)
        prompt = f"{preamble}{task.output_field}: {label}\n{task.input_field}:"
        texts = workspace.model.sample(
            prompt,
            per_label,
            temperature=settings.temperature,
            seed=seed * 10 + index,
            stop=tuple(stop),
            max_tokens=96,
        )
        examples = _unique(
            Example(input=text.strip(), output=label, answer=label) if text.strip() else None
            for text in texts
        )
        ranked_by_label.append(_rank(workspace, prompt, [(e, f" {e.input}") for e in examples]))
    ranked = [e for group in zip(*ranked_by_label, strict=False) for e in group]
    return _drafts(task, ranked)


def public_examples(workspace: TeacherWorkspace, seed: int) -> list[Draft]:
    """k examples sampled from the task's description alone, without a look at the silo (each
    conditioned on a label, labels in turn, on a classification task; an input ends where it
    would write its own label), likeliest first: drafts that cost the silo no privacy. The
    prompt is every teacher's, so each teacher samples with its own seed."""
    task, settings = workspace.task, workspace.settings
    preamble = prompts.SYNTHETIC_PREAMBLE.format(description=task.description)
    own_seed = zlib.crc32(f"{workspace.teacher_id}:{seed}".encode()) % 10**8
    if task.labels:
        stop = ("\n", f"{task.output_field}:")
        drafts = label_first_samples(workspace, preamble, own_seed, task.labels, stop)
    else:
        drafts = samples_after(workspace, preamble, own_seed)
    return labels_alternating(task, drafts)[: settings.keep]


def _drafts(task: Task, ranked: list[tuple[Example, float]]) -> list[Draft]:
    return [Draft(task.format_example(example), example, score) for example, score in ranked]


def _unique(examples: Iterable[Example | None]) -> list[Example]:
    seen: dict[str, Example] = {}
    for example in examples:
        if example is not None and example.input not in seen:
            seen[example.input] = example
    return list(seen.values())


def _rank(
    workspace: TeacherWorkspace,
    prompt: str,
    items: list[tuple[Example, str]],
    known: Sequence[Score | None] = (),
) -> list[tuple[Example, float]]:
    """Examples ordered by lowest perplexity (highest mean log-probability) under the teacher;
    the texts of `items` after `prompt` are scored, except where `known` gives a score."""
    if not items:
        return []
    known = list(known) or [None] * len(items)
    missing = [i for i, score in enumerate(known) if score is None]
    found = workspace.model.score(prompt, [items[i][1] for i in missing]) if missing else []
    scores = dict(zip(missing, found, strict=True))
    means = [(score or scores[i]).mean for i, score in enumerate(known)]
    order = sorted(range(len(items)), key=lambda i: -means[i])
    return [(items[i][0], means[i]) for i in order]
