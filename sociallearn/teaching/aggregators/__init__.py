"""Aggregator registry: a new aggregator is one module plus one line here."""

from __future__ import annotations

from sociallearn.core.registry import build
from sociallearn.teaching.aggregators.base import Aggregator
from sociallearn.teaching.aggregators.dp_choice import DPChoice
from sociallearn.teaching.aggregators.dp_voting import DPVoting
from sociallearn.teaching.aggregators.merge import Merge
from sociallearn.teaching.aggregators.random_draw import RandomDraw
from sociallearn.teaching.aggregators.voting import BalancedVoting, Voting

AGGREGATORS: dict[str, type[Aggregator]] = {
    "random": RandomDraw,
    "voting": Voting,
    "balanced_voting": BalancedVoting,
    "dp_voting": DPVoting,
    "dp_choice": DPChoice,
    "merge": Merge,
}


def get_aggregator(name: str) -> Aggregator:
    """The aggregator registered under `name` (a `ValueError` listing the known ones otherwise)."""
    return build(AGGREGATORS, "aggregator", name)


__all__ = ["AGGREGATORS", "Aggregator", "get_aggregator"]
