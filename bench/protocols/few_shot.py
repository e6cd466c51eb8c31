"""Few-shot sampling (the CLIP paper, section 3.1.5 and figure 6): k examples per class.

The probe itself is :func:`bench.protocols.linear_probe.few_shot_probe` (C chosen on a k-shot
val draw, refit on the k-shot train set alone).
"""

from __future__ import annotations

import numpy as np
import torch

SHOTS = (1, 2, 4, 8, 16)
SEEDS = (0, 1, 2)


def sample_per_class(
    labels: torch.Tensor | np.ndarray, k: int, seed: int, salt: int = 0
) -> np.ndarray:
    """Sorted indices of up to ``k`` examples per class (all of a class with fewer than k).

    Multi-label tasks draw, for each class in turn, k not yet drawn examples that have it.

    Args:
        labels: ``[N]`` class indices, or ``[N, C]`` multi-hot.
        k: Examples per class.
        seed: The sampling seed.
        salt: Distinguishes draws of the same seed (train vs. validation).
    """
    y = labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    rng = np.random.default_rng([seed, k, salt])
    chosen: list[int] = []
    if y.ndim == 1:
        for c in np.unique(y):
            members = np.flatnonzero(y == c)
            chosen.extend(rng.choice(members, size=min(k, len(members)), replace=False))
        return np.sort(np.asarray(chosen, dtype=np.int64))
    taken = np.zeros(len(y), dtype=bool)
    for c in range(y.shape[1]):
        members = np.flatnonzero((y[:, c] > 0) & ~taken)
        pick = rng.choice(members, size=min(k, len(members)), replace=False)
        taken[pick] = True
    return np.flatnonzero(taken)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    arr = np.asarray(values, dtype=np.float64)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return float(arr.mean()), std
