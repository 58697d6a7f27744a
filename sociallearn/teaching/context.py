"""The graph's runtime context: the run's settings and the resources opened for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sociallearn.teaching.resources import Resources
from sociallearn.teaching.settings import Settings


@dataclass(kw_only=True)
class Context:
    """What every node receives besides its state. Holds no private data itself: teachers'
    data stays in their workspaces inside `resources`, which are never checkpointed."""

    settings: Settings = field(default_factory=Settings)
    resources: Resources = field(default=None)  # type: ignore[assignment]  # built in post-init

    def __post_init__(self) -> None:
        if isinstance(self.settings, dict):  # a context sent as JSON (LangGraph server)
            self.settings = Settings.model_validate(self.settings)
        if self.resources is None:
            self.resources = Resources(self.settings)

    @classmethod
    def of(cls, **settings: Any) -> Context:
        """A context with these settings and resources opened from them."""
        return cls(settings=Settings(**settings))
