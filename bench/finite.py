"""One check that no NaN or Inf reaches a score: features, classifier weights, logits.

A model with one NaN weight yields NaN features; NaN compares false with everything, so
without this check a metric could count every NaN-scored sample as right. The check runs
once per split (not per batch) and fails that task with a line naming where it happened.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bench.errors import BenchError


class NonFiniteError(BenchError):
    """Values that should be finite (features, weights, logits) hold NaN or Inf."""


def count_non_finite(x: Any) -> int:
    """How many entries of a tensor or array are NaN or +-Inf."""
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            return 0
        return int((~torch.isfinite(x)).sum().item())
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        return 0
    return int((~np.isfinite(arr)).sum())


def check_finite(x: Any, *, what: str, model: str, task: str, split: str) -> None:
    """Raises unless every value of ``x`` is finite.

    Args:
        x: A tensor or array.
        what: What ``x`` is (``image features``, ``classifier weights``, ``logits``).
        model, task, split: Where it comes from, for the message.

    Raises:
        NonFiniteError: naming the model, task, split and how many values were non-finite.
    """
    bad = count_non_finite(x)
    if bad:
        total = int(np.prod(tuple(x.shape))) if hasattr(x, "shape") else bad
        raise NonFiniteError(
            f"model {model!r}, task {task!r}, split {split!r}: {bad} of {total} {what} values "
            "are NaN or Inf; the weights are probably broken (check the checkpoint, or try "
            "--precision fp32)"
        )
