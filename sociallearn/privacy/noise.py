"""Noise for differential privacy: Laplace draws, from the OS's entropy unless seeded."""

from __future__ import annotations

import random


def laplace(rng: random.Random, scale: float) -> float:
    """A draw of Laplace(0, scale): the difference of two exponential draws of mean `scale`."""
    return rng.expovariate(1 / scale) - rng.expovariate(1 / scale)
