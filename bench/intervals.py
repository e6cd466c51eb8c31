"""Confidence intervals of results, in percent.

- :func:`clopper_pearson`: the exact binomial interval of ``k`` successes in ``n`` trials, for
  accuracy-type results (the CLIP paper bolds results within the 99.5% Clopper-Pearson
  interval of the best one).
- :func:`bootstrap_interval`: the percentile interval of a statistic over seeded resamples of
  the items (with replacement), for metrics that are not a binomial proportion.

The level is :data:`LEVEL` (99.5%) unless given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import beta

from bench.errors import BenchError

LEVEL = 0.995
RESAMPLES = 1000
SEED = 0


@dataclass(frozen=True)
class Interval:
    """A confidence interval in percent.

    Attributes:
        level: Coverage, e.g. 0.995.
        low, high: Bounds in percent (0-100).
        method: ``clopper-pearson`` or ``bootstrap``.
        resamples: Bootstrap resamples used (``None`` for Clopper-Pearson).
        seed: The bootstrap's seed (``None`` for Clopper-Pearson).
    """

    level: float
    low: float
    high: float
    method: str
    resamples: int | None = None
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result file's ``ci`` section."""
        d: dict[str, Any] = {
            "level": self.level, "low": self.low, "high": self.high, "method": self.method,
        }  # fmt: skip
        if self.resamples is not None:
            d["resamples"], d["seed"] = self.resamples, self.seed
        return d

    def within(self, value: float) -> bool:
        """Whether ``value`` (percent) lies inside the interval (bounds included)."""
        return self.low <= value <= self.high


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise BenchError(f"confidence level {level!r} must lie strictly between 0 and 1")
    return level


def clopper_pearson(k: int, n: int, level: float = LEVEL) -> Interval:
    """The exact (Clopper-Pearson) interval of a proportion ``k / n``, in percent.

    Raises:
        BenchError: ``n < 1`` or ``k`` outside ``0..n``.
    """
    _check_level(level)
    if n < 1 or not 0 <= k <= n:
        raise BenchError(f"a binomial interval needs 0 <= k <= n and n >= 1; got k={k}, n={n}")
    alpha = 1 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Interval(level, 100 * low, 100 * high, "clopper-pearson")


def bootstrap_interval(
    stat: Callable[[np.ndarray], float],
    n: int,
    *,
    level: float = LEVEL,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    strata: np.ndarray | None = None,
) -> Interval:
    """The percentile bootstrap interval of ``stat`` over ``n`` items, in percent.

    Args:
        stat: ``stat(indices) -> value`` in percent on the items at ``indices`` (a resample
            of ``0..n-1`` with replacement).
        n: Number of items.
        level: Coverage.
        resamples: Number of resamples.
        seed: Seed of the resampling (numpy's PCG64), so a result is reproducible.
        strata: ``[n]`` group of each item; each resample then keeps every group's count
            (ROC AUC resamples positives and negatives separately, so both are always there).

    Raises:
        BenchError: ``n < 1`` or ``resamples < 1``.
    """
    _check_level(level)
    if n < 1 or resamples < 1:
        raise BenchError(f"a bootstrap needs n >= 1 items and resamples >= 1; got {n}, {resamples}")
    rng = np.random.default_rng(seed)
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == g)
                                                     for g in np.unique(strata)]  # fmt: skip

    def draw() -> np.ndarray:
        return np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])

    values = np.array([stat(draw()) for _ in range(resamples)], dtype=np.float64)
    alpha = 1 - level
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return Interval(level, float(low), float(high), "bootstrap", resamples, seed)
