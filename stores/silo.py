"""Teachers' private silos: a task's data split into one private share per teacher.

Private examples live only here and in the teachers' workspaces (`sociallearn.resources`),
inside the teacher's side of the privacy boundary. The graph state carries teacher ids only.
"""

from __future__ import annotations

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


def split_data(
    task: Task,
    examples: list[Example],
    *,
    teachers: int,
    test_size: int,
    seed: int,
    held_out_fraction: float = 0.25,
    canary: Example | None = None,
) -> DataSplit:
    """Shuffle, balance classes, set aside a test set, then deal the rest to the teachers.

    A `canary` (for privacy measurement) is planted in every teacher's teaching examples.
    """
    if teachers < 0:
        raise ValueError("teachers cannot be negative")
    missing = [label for label in task.labels if all(e.answer != label for e in examples)]
    if missing:
        raise DataError(
            f"the data has no example labelled {', '.join(missing)}: {task.name} needs every "
            f"label ({', '.join(task.labels)}) to balance its test set and teach"
        )
    rng = random.Random(seed)
    pool = list(examples)
    rng.shuffle(pool)
    if task.labels:
        pool = balance(pool, task.labels, rng)
    test, rest = take_test(pool, task.labels, test_size)
    smallest_test = test_size - max(len(task.labels) - 1, 0)  # labels get equal shares
    if len(test) < smallest_test or len(rest) < 2 * teachers:
        raise DataError(
            f"{len(pool)} usable examples (balanced by label) cannot give a test set of "
            f"{test_size} and at least 2 private examples to each of {teachers} teachers: "
            "lower the test size or the teachers, or use more data"
        )
    silos = {
        f"teacher-{index}": own_silo(
            f"teacher-{index}", rest[index::teachers], held_out_fraction, canary
        )
        for index in range(teachers)
    }
    return DataSplit(task=task, test=test, silos=silos)


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
) -> DataSplit:
    """The task's data split for these settings (the same settings give the same split)."""
    examples = task.load(Path(data_path) if data_path else None)
    canary = None
    if canary_input is not None:
        answer = canary_answer or ""
        canary = Example(input=canary_input, output=answer, answer=answer)
    return split_data(
        task, examples, teachers=teachers, test_size=test_size, seed=seed, canary=canary
    )
