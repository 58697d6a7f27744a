"""Teachers' private silos: a task's data split into one private share per teacher.

Private examples live only here and in the teachers' workspaces (`sociallearn.teaching.resources`),
inside the teacher's side of the privacy boundary. The graph state carries teacher ids only.

Every dataset is split once, by a fixed hash of each example (`is_locked`), into a tuning part
and a locked part. Silos and the test set of every run come from the tuning part: development,
presets and ablations never read the locked part. Only a final evaluation (`final`) tests the
student on the locked part, with the same silos as the tuning run of its seed.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from sociallearn.tasks import DataError, Example, Task


@dataclass
class TeacherSilo:
    """One teacher's private data: examples to teach from and examples held back to vote."""

    teacher_id: str
    examples: list[Example]
    held_out: list[Example]
    canary: Example | None = None  # planted for privacy measurement: always among the shots

    def shots(self, n: int, seed: int) -> list[Example]:
        """n of the teacher's examples, drawn reproducibly (the canary, if any, among them)."""
        rng = random.Random(f"{self.teacher_id}:{seed}")
        pool = [e for e in self.examples if e != self.canary]
        chosen = rng.sample(pool, min(n, len(pool)))
        if self.canary is not None and chosen:
            chosen[rng.randrange(len(chosen))] = self.canary
        return chosen

    def balanced_shots(self, n: int, labels: tuple[str, ...], seed: int) -> list[Example]:
        """n examples with the labels as even as the silo allows, shuffled."""
        rng = random.Random(f"{self.teacher_id}:{seed}:balanced")
        by_label = {label: [e for e in self.examples if e.answer == label] for label in labels}
        chosen: list[Example] = []
        for i in range(n):
            pool = [e for e in by_label[labels[i % len(labels)]] if e not in chosen]
            if pool:
                chosen.append(rng.choice(pool))
        rng.shuffle(chosen)
        return chosen

    def private_texts(self) -> list[str]:
        return [e.input for e in self.examples + self.held_out]

    def private_records(self) -> list[str]:
        """Each private example whole, its input and its answer (a word between them, so that
        numbers at the end of one and the start of the other stay apart)."""
        return [f"{e.input}\nanswer: {e.output}" for e in self.examples + self.held_out]


@dataclass
class DataSplit:
    """A task's data split into a public evaluation set and one private silo per teacher."""

    task: Task
    test: list[Example]
    silos: dict[str, TeacherSilo]


def balance(examples: list[Example], labels: tuple[str, ...], rng: random.Random) -> list[Example]:
    """Undersample every label to the size of the rarest, as the paper does for SMS spam."""
    groups = {label: [e for e in examples if e.answer == label] for label in labels}
    size = min(len(group) for group in groups.values())
    kept = [e for group in groups.values() for e in rng.sample(group, size)]
    rng.shuffle(kept)
    return kept


def take_test(
    examples: list[Example], labels: tuple[str, ...], size: int
) -> tuple[list[Example], list[Example]]:
    """The first `size` examples as test set (label-balanced for classification), and the rest."""
    if not labels:
        return examples[:size], examples[size:]
    per_label = size // len(labels)
    test: list[Example] = []
    counts = dict.fromkeys(labels, 0)
    rest: list[Example] = []
    for example in examples:
        if counts[example.answer] < per_label:
            counts[example.answer] += 1
            test.append(example)
        else:
            rest.append(example)
    return test, rest


LOCKED_FRACTION = 0.25  # of every dataset, read only by final evaluations
_LOCK_SALT = "sociallearn/locked-test/v1"  # fixed forever: changing it unlocks the locked part


def is_locked(task: Task, example: Example) -> bool:
    """Whether `example` is in the locked part: a fixed hash of the task and the input (case and
    spacing ignored, so a repeated message falls on one side), the same on every machine."""
    text = " ".join(example.input.lower().split())
    digest = hashlib.sha256(f"{_LOCK_SALT}\0{task.family}\0{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") < LOCKED_FRACTION * 2**64


def partition(task: Task, examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """The examples split into the tuning part and the locked part (order kept)."""
    tuning: list[Example] = []
    locked: list[Example] = []
    for example in examples:
        (locked if is_locked(task, example) else tuning).append(example)
    return tuning, locked


def split_data(
    task: Task,
    examples: list[Example],
    *,
    teachers: int,
    test_size: int,
    seed: int,
    held_out_fraction: float = 0.25,
    canary: Example | None = None,
    final: bool = False,
) -> DataSplit:
    """Shuffle the tuning part, balance classes, set aside a test set, then deal the rest to the
    teachers; with `final`, the test set is drawn from the locked part instead.

    A `canary` (for privacy measurement) is planted in every teacher's teaching examples.
    """
    if teachers < 0:
        raise ValueError("teachers cannot be negative")
    tuning, locked = partition(task, examples)
    test, rest, usable = drawn_test(task, tuning, test_size, random.Random(seed), "tuning")
    if len(rest) < 2 * teachers:
        raise DataError(
            f"{usable} usable examples of the tuning part (balanced by label) cannot give a "
            f"test set of {test_size} and at least 2 private examples to each of {teachers} "
            "teachers: lower the test size or the teachers, or use more data"
        )
    if final:
        test, _, _ = drawn_test(task, locked, test_size, random.Random(f"locked:{seed}"), "locked")
    silos = {
        f"teacher-{index}": own_silo(
            f"teacher-{index}", rest[index::teachers], held_out_fraction, canary
        )
        for index in range(teachers)
    }
    return DataSplit(task=task, test=test, silos=silos)


def drawn_test(
    task: Task, examples: list[Example], test_size: int, rng: random.Random, part: str
) -> tuple[list[Example], list[Example], int]:
    """A test set of `test_size` drawn from the `part` ("tuning" or "locked") `examples`:
    shuffled, label-balanced (undersampled) for classification; with the rest, and how many
    examples were usable after balancing."""
    missing = [label for label in task.labels if all(e.answer != label for e in examples)]
    if missing:
        raise DataError(
            f"the {part} part of the data has no example labelled {', '.join(missing)}: "
            f"{task.name} needs every label ({', '.join(task.labels)}) to balance its test set "
            "and teach"
        )
    pool = list(examples)
    rng.shuffle(pool)
    if task.labels:
        pool = balance(pool, task.labels, rng)
    test, rest = take_test(pool, task.labels, test_size)
    if len(test) < test_size - max(len(task.labels) - 1, 0):  # labels get equal shares
        raise DataError(
            f"{len(pool)} usable examples of the {part} part (balanced by label) cannot give a "
            f"test set of {test_size}: lower the test size or use more data"
        )
    return test, rest, len(pool)


def own_silo(
    teacher_id: str,
    share: list[Example],
    held_out_fraction: float = 0.25,
    canary: Example | None = None,
) -> TeacherSilo:
    """A teacher's silo from its share of the data: the first `held_out_fraction` held back
    to vote and check with, the rest to teach from (with the canary, if any, planted)."""
    cut = int(len(share) * held_out_fraction)
    teach, held = share[cut:], share[:cut]
    if canary is not None:
        teach = [canary, *teach]
    return TeacherSilo(teacher_id, teach, held, canary=canary)


def share_of(silo: TeacherSilo) -> list[Example]:
    """The examples `own_silo` makes `silo` from, in order (without a planted canary)."""
    return silo.held_out + [e for e in silo.examples if e != silo.canary]


def load_split(
    task: Task,
    data_path: str | None,
    teachers: int,
    test_size: int,
    seed: int,
    canary_input: str | None = None,
    canary_answer: str | None = None,
    *,
    final: bool = False,
) -> DataSplit:
    """The task's data split for these settings (the same settings give the same split)."""
    examples = task.load(Path(data_path) if data_path else None)
    canary = None
    if canary_input is not None:
        answer = canary_answer or ""
        canary = Example(input=canary_input, output=answer, answer=answer)
    return split_data(
        task,
        examples,
        teachers=teachers,
        test_size=test_size,
        seed=seed,
        canary=canary,
        final=final,
    )
