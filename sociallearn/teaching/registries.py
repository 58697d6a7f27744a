"""The names the settings give (task, method, aggregator), checked by their registries.

The settings sit below the registries (whose components read the settings), so they hold
names only; whoever starts a run checks them here before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from pydantic import ValidationError
from pydantic_core import InitErrorDetails

from sociallearn.tasks import TASKS, get_task
from sociallearn.teaching.aggregators import AGGREGATORS, get_aggregator
from sociallearn.teaching.methods import METHODS, get_method
from sociallearn.teaching.settings import TeachSettings


class Registry(NamedTuple):
    """A registry: its components by name, and its lookup (a `ValueError` for a name it does
    not know, listing the known ones)."""

    names: Mapping[str, object]
    lookup: Callable[[str], object]


# The settings that name a registered component, and their registries.
REGISTRIES: dict[str, Registry] = {
    "task": Registry(TASKS, get_task),
    "method": Registry(METHODS, get_method),
    "aggregator": Registry(AGGREGATORS, get_aggregator),
}


def check_registered(settings: TeachSettings) -> None:
    """Refuse names no registry knows: a `ValidationError` naming each such setting, as a bad
    value of the settings would."""
    errors: list[InitErrorDetails] = []
    for name, registry in REGISTRIES.items():
        if name not in type(settings).model_fields:
            continue
        value = getattr(settings, name)
        try:
            registry.lookup(value)
        except ValueError as exc:
            errors.append(
                {"type": "value_error", "loc": (name,), "input": value, "ctx": {"error": exc}}
            )
    if errors:
        raise ValidationError.from_exception_data(type(settings).__name__, errors)
