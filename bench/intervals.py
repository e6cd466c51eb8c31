"""Confidence intervals for results, in percent: exact binomial and seeded bootstrap.

The paper marks results that lie within a 99.5% Clopper-Pearson interval of the best. An
accuracy-type result (``k`` of ``n`` items right) gets the exact interval of
:func:`clopper_pearson`; a metric that is not a binomial proportion (mean per-class accuracy,
11-point mAP, ROC AUC, retrieval recall) gets a percentile bootstrap over items
(:func:`bootstrap_interval`), resampling items with replacement from a seeded numpy
``Generator`` so that the same inputs give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from bench.errors import BenchError

DEFAULT_LEVEL = 0.995
METHODS = ("clopper-pearson", "bootstrap")

MetricFn = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Interval:
    """A two-sided confidence interval of a result, in percent.

    Attributes:
        level: Coverage, e.g. 0.995.
        low: Lower bound (percent).
        high: Upper bound (percent).
        method: One of :data:`METHODS`.
        resamples: Bootstrap resamples drawn; ``None`` for an exact interval.
    """

    level: float
    low: float
    high: float
    method: str
    resamples: int | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise BenchError(
                f"unknown interval method {self.method!r}; valid methods: {', '.join(METHODS)}"
            )

    def to_dict(self) -> dict[str, float | int | str]:
        """``{level, low, high, method}``, plus ``resamples`` for a bootstrap interval."""
        out: dict[str, float | int | str] = {
            "level": self.level,
            "low": self.low,
            "high": self.high,
            "method": self.method,
        }
        if self.resamples is not None:
            out["resamples"] = self.resamples
        return out


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not (isinstance(level, int | float) and 0 < level < 1):
        raise BenchError(f"confidence level must be a number in (0, 1), e.g. 0.995; got {level!r}")
    return float(level)


def clopper_pearson(k: int, n: int, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a binomial proportion ``k / n``, in percent.

    ``low`` is the ``(1 - level) / 2`` quantile of Beta(k, n - k + 1) and ``high`` the
    ``(1 + level) / 2`` quantile of Beta(k + 1, n - k); at the edges ``low`` is 0 for ``k = 0``
    and ``high`` is 100 for ``k = n``.

    Args:
        k: Successes (items right), ``0 <= k <= n``.
        n: Trials (items), at least 1.
        level: Two-sided coverage in (0, 1).

    Returns:
        ``(low, high)`` in percent.

    Raises:
        BenchError: if ``k`` or ``n`` are not integers with ``0 <= k <= n``, ``n >= 1``, or the
            level is outside (0, 1).
    """
    level = _check_level(level)
    for name, v in (("k", k), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise BenchError(f"clopper_pearson needs integer counts; got {name}={v!r}")
    k, n = int(k), int(n)
    if n < 1 or not 0 <= k <= n:
        raise BenchError(f"clopper_pearson needs 0 <= k <= n and n >= 1; got k={k}, n={n}")
    alpha = 1 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return 100 * low, 100 * high


def bootstrap_interval(
    metric_fn: MetricFn,
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    level: float = DEFAULT_LEVEL,
    resamples: int = 1000,
    seed: int = 0,
    side: None = None,
) -> tuple[float, float, int]:
    """A percentile bootstrap interval of ``metric_fn(scores, labels)`` over items.

    Draws ``resamples`` sets of ``n`` item indices with replacement (numpy ``Generator``
    seeded with ``seed``), evaluates the metric on each resampled ``(scores, labels)`` and
    returns the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of those values. Rows of
    ``scores`` and ``labels`` are items; a resample on which the metric is undefined (it returns
    NaN, e.g. a class missing from the draw) is left out of the quantiles.

    Args:
        metric_fn: ``(scores, labels) -> percent``.
        scores: Per-item scores, first axis the items.
        labels: Per-item labels, first axis the items (the same length).
        level: Two-sided coverage in (0, 1).
        resamples: Number of bootstrap resamples, at least 1.
        seed: Seed of the resampling.
        side: Reserved for one-sided intervals; only ``None`` (two-sided) is supported.

    Returns:
        ``(low, high, resamples)``: the bounds in percent and how many resamples gave a value.

    Raises:
        BenchError: on mismatched lengths, no items, ``resamples < 1``, a bad level, a
            one-sided request, or when no resample gives a finite value.
    """
    level = _check_level(level)
    if side is not None:
        raise BenchError(f"only two-sided intervals are supported (side=None); got side={side!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise BenchError(f"resamples must be an integer >= 1, e.g. 1000; got {resamples!r}")
    scores, labels = np.asarray(scores), np.asarray(labels)
    n = len(scores)
    if n == 0 or len(labels) != n:
        raise BenchError(
            f"bootstrap needs one label per item and at least one item; got {n} scores and "
            f"{len(labels)} labels"
        )
    rng = np.random.default_rng(seed)
    values = np.empty(resamples)
    for r in range(resamples):
        idx = rng.integers(0, n, n)
        values[r] = metric_fn(scores[idx], labels[idx])
    values = values[np.isfinite(values)]
    if len(values) == 0:
        raise BenchError(
            f"the metric was undefined (NaN) on all {resamples} bootstrap resamples of {n} items"
        )
    alpha = 1 - level
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high), int(len(values))


def within(value: float, interval: Interval) -> bool:
    """Whether ``value`` (percent) lies in ``[interval.low, interval.high]``; False for NaN."""
    v = float(value)
    return not math.isnan(v) and interval.low <= v <= interval.high
