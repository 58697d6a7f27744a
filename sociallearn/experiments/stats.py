"""Statistics of a results table: intervals over runs, permutation tests, recovered gaps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import BaseModel, BeforeValidator
from scipy import stats

# JSON writes a NaN bound (one run has no interval) as null: read it back as NaN.
Bound = Annotated[float, BeforeValidator(lambda value: math.nan if value is None else value)]


class Interval(BaseModel):
    """A mean with its confidence interval (low = high = mean when the runs agree)."""

    mean: float
    low: Bound
    high: Bound
    confidence: float = 0.95


def mean_interval(
    values: Sequence[float],
    confidence: float = 0.95,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> Interval:
    """Mean of per-run values with a Student-t interval over runs, cut to `bounds` (the range
    the values can take, e.g. 0–1 for accuracies); NaN bounds for a single run."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("no values to summarise")
    mean = float(data.mean())
    if data.size == 1:
        return Interval(mean=mean, low=math.nan, high=math.nan, confidence=confidence)
    sem = float(stats.sem(data))
    if sem == 0.0:
        return Interval(mean=mean, low=mean, high=mean, confidence=confidence)
    low, high = stats.t.interval(confidence, data.size - 1, loc=mean, scale=sem)
    low, high = max(float(low), bounds[0]), min(float(high), bounds[1])
    return Interval(mean=mean, low=low, high=high, confidence=confidence)


def permutation_p_value(
    a: Sequence[float],
    b: Sequence[float],
    *,
    paired: bool = True,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> float:
    """Two-sided p-value of the difference of means of `a` and `b` under reshuffling.

    Paired (the same test examples under two methods): each pair's values are swapped at
    random; unpaired: the pooled values are dealt again. Exact when there are fewer distinct
    rearrangements than `n_resamples`.
    """
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired and x.shape != y.shape:
        raise ValueError(f"paired samples differ in size: {x.size} and {y.size}")
    if x.size == 0 or y.size == 0:
        raise ValueError("empty sample")
    if paired:
        # Swapping an equal pair changes nothing: test on the differing pairs only (same p-value,
        # since the mean difference over all pairs is a fixed multiple of theirs).
        differ = x != y
        x, y = x[differ], y[differ]
        if x.size < 2:  # one differing pair: its two arrangements are equally extreme
            return 1.0
    elif np.ptp(np.concatenate([x, y])) == 0:
        return 1.0

    def difference(u: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(u, axis=axis) - np.mean(v, axis=axis)

    result = stats.permutation_test(
        (x, y),
        difference,
        permutation_type="samples" if paired else "independent",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return float(min(1.0, result.pvalue))


def recovered_gap(method: float, zero_shot: float, original: float) -> float | None:
    """The fraction of the (original − 0-shot) gap that a method recovers.

    None when there is no gap to recover: the original examples do no better than 0-shot.
    """
    gap = original - zero_shot
    if gap < 1e-12:
        return None
    return (method - zero_shot) / gap
