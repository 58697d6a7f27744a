"""Registries of components by name (tasks, teaching methods, aggregators): one lookup."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


def build(registry: Mapping[str, Callable[[], T]], kind: str, name: str) -> T:
    """A new component registered under `name`; a name not registered is a `ValueError` that
    lists the known ones."""
    try:
        make = registry[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; known: {', '.join(registry)}") from None
    return make()
