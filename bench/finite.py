"""Non-finite values never score: one check per split for classifier weights, logits, probes."""

from __future__ import annotations

from typing import Any

import torch

from bench.errors import BenchError


class NonFiniteError(BenchError):
    """A tensor of a model's outputs holds NaN or Inf values."""


def check_finite(x: Any, *, what: str, model: str, task: str, split: str) -> None:
    """Raises :class:`NonFiniteError` if ``x`` holds any NaN or Inf value.

    Args:
        x: A tensor or array.
        what: What ``x`` is (``features``, ``classifier weights``, ``logits``, ...).
        model, task, split: Named in the message.

    Raises:
        NonFiniteError: naming the model, task, split, what, and how many values.
    """
    t = torch.as_tensor(x)
    if not t.is_floating_point():
        return
    bad = int((~torch.isfinite(t)).sum())
    if bad:
        raise NonFiniteError(
            f"model {model}, task {task}, split {split}: {bad} of {t.numel()} {what} values "
            "are NaN or Inf; check the checkpoint (or --precision fp32 for an overflow)"
        )
