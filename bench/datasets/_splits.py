"""Deterministic, seeded, class-stratified splits and index views of datasets.

Where a source has no official validation split, the linear probe's validation set is carved
from the training set by :func:`stratified_split`. The carve depends only on the labels, the
size and the seed: the permutation comes from a fixed integer hash (splitmix64), not from a
random-number generator whose stream could change between numpy versions, so cached features
of a split stay valid across environments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, vectorised: a fixed bijective hash of uint64 values."""
    x = x.astype(np.uint64)
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK
        return x ^ (x >> np.uint64(31))


def seeded_order(indices: np.ndarray, seed: int) -> np.ndarray:
    """``indices`` in a pseudo-random order fixed by ``seed`` (same on every platform)."""
    indices = np.asarray(indices, dtype=np.int64)
    with np.errstate(over="ignore"):
        keys = _splitmix64(indices.astype(np.uint64) ^ _splitmix64(np.array([seed], np.uint64)))
    return indices[np.argsort(keys, kind="stable")]


def strata(labels: Any) -> np.ndarray:
    """One integer stratum per example: the label, or for multi-hot labels the first positive."""
    arr = np.asarray(labels)
    if arr.ndim == 2:  # multi-label: stratify on the first positive class (-1 if none)
        has = arr.any(axis=1)
        return np.where(has, arr.argmax(axis=1), -1).astype(np.int64)
    return arr.astype(np.int64)


def _allocate(counts: np.ndarray, size: int) -> np.ndarray:
    """Per-class quotas summing to ``size``, proportional to ``counts`` (largest remainder)."""
    total = int(counts.sum())
    exact = counts * (size / total)
    quota = np.floor(exact).astype(np.int64)
    remainder = size - int(quota.sum())
    # Ties broken by class order (stable sort), so the allocation is deterministic.
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[:remainder]] += 1
    return np.minimum(quota, counts)


def stratified_split(labels: Any, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Splits example indices into ``(rest, carved)`` with ``len(carved) == size``.

    Each class contributes to ``carved`` in proportion to its frequency (largest remainder
    rounding). The result depends only on ``labels``, ``size`` and ``seed``.

    Args:
        labels: One int per example, or a ``[N, C]`` multi-hot array.
        size: How many examples to carve out; ``0 < size < N``.
        seed: Fixes which examples of each class are carved.

    Returns:
        Two sorted int64 index arrays: the remaining examples and the carved ones.

    Raises:
        ValueError: if ``size`` is not between 1 and ``N - 1``.
    """
    keys = strata(labels)
    n = len(keys)
    if not 0 < size < n:
        raise ValueError(f"cannot carve {size} examples out of {n}; need 0 < size < {n}")
    classes, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    quota = _allocate(counts, size)
    by_class = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
    carved = [
        seeded_order(members, seed + 7919 * c)[: quota[c]] for c, members in enumerate(by_class)
    ]
    carved_idx = np.sort(np.concatenate(carved)) if carved else np.zeros(0, np.int64)
    mask = np.ones(n, dtype=bool)
    mask[carved_idx] = False
    return np.flatnonzero(mask), carved_idx


class IndexView:
    """A view of ``dataset`` restricted to ``indices``, keeping ``.labels`` for the subset.

    Args:
        dataset: Any dataset with ``__getitem__`` and ``.labels``.
        indices: Positions in ``dataset``, in the order the view yields them.
    """

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        return self.dataset[int(self.indices[i])]

    def encoded(self, i: int) -> bytes | None:
        """The underlying dataset's encoded file of item ``i`` (``None``: not a plain file)."""
        encoded = getattr(self.dataset, "encoded", None)
        return encoded(int(self.indices[i])) if encoded is not None else None

    @property
    def labels(self) -> Any:
        labels = self.dataset.labels
        if isinstance(labels, np.ndarray) or hasattr(labels, "shape"):
            return labels[self.indices]
        return [labels[int(i)] for i in self.indices]
