"""Task registry: a new task is one module plus one line here."""

from __future__ import annotations

from collections.abc import Callable

from sociallearn.core.registry import build
from sociallearn.tasks.base import DataError, Example, Task, default_data_dir
from sociallearn.tasks.gsm8k import Gsm8k
from sociallearn.tasks.random_insertion import RandomInsertion
from sociallearn.tasks.sms_spam import SmsSpam, SmsSpamWithClasses

TASKS: dict[str, Callable[[], Task]] = {
    "sms_spam": SmsSpam,
    "sms_spam_class": SmsSpamWithClasses,
    "gsm8k": Gsm8k,
    "random_insertion": RandomInsertion,
}


def get_task(name: str) -> Task:
    """The task registered under `name` (a `ValueError` listing the known ones otherwise)."""
    return build(TASKS, "task", name)


__all__ = ["TASKS", "DataError", "Example", "Task", "default_data_dir", "get_task"]
