"""Run settings of the social-learning graph (LangGraph runtime context)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sociallearn.privacy.filter import FilterSettings
from sociallearn.schema import Method


@dataclass(kw_only=True)
class Context:
    """Everything a teach run needs besides its state. Never holds private data."""

    task: str = "sms_spam"
    data_path: str | None = None  # a file in the task's upstream format; default: shared datasets
    method: Method = "synthetic_examples"
    teachers: int = 4  # m
    shots: int = 8  # n: private examples a teacher reads
    temperature: float = 0.7  # τ for sampling synthetic examples
    samples: int = 16  # k: synthetic candidates sampled per teacher
    keep: int = 8  # candidates each teacher keeps, lowest perplexity first
    lessons: int = 8  # examples in the student's prompt
    retrieve: int = 0  # >0: the student retrieves this many lessons per query from the library
    approve: bool = False  # interrupt before publishing for a person to approve/edit/reject
    aggregator: Literal["random", "voting"] = "random"
    votes_held_out: int = 8  # held-back examples each voting teacher scores with
    # Condition each synthetic example on a label (and, with voting, keep the labels equal).
    balanced_generation: bool = False
    teacher_check: bool = False  # share only examples that help the teacher's held-back data
    teacher_model: str = "smollm2"
    student_model: str = "smollm2"
    n_gpu_layers: int | None = None
    library: str = ".sociallearn/library"
    collection: str = "lessons"
    test_size: int = 200  # examples kept out of every silo for evaluating the student
    seed: int = 0
    max_retries: int = 2  # R: redrafts after the filter rejects all of a teacher's drafts
    privacy: FilterSettings = field(default_factory=FilterSettings)
    canary: str | None = None  # planted in every teacher's data (privacy measurement)
    canary_answer: str | None = None
