"""Noise for differential privacy: Laplace draws, from the OS's entropy unless seeded."""

from __future__ import annotations

import random
from collections.abc import Sequence


def laplace(rng: random.Random, scale: float) -> float:
    """A draw of Laplace(0, scale): the difference of two exponential draws of mean `scale`."""
    return rng.expovariate(1 / scale) - rng.expovariate(1 / scale)


def report_noisy_max(counts: Sequence[float], epsilon: float, rng: random.Random) -> int:
    """Report-noisy-max (Dwork & Roth 2014, §3.3): the index of the largest count after
    Laplace noise of scale 2/ε on each, ε-DP when one private unit moves each count by at most 1
    (in either direction)."""
    return max(range(len(counts)), key=lambda i: counts[i] + laplace(rng, 2 / epsilon))
