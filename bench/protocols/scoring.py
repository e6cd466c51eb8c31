"""A task's metric on scores, with top-1 and top-5 where they apply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Scores:
    """A task's metric on some scores, with top-1/top-5 where they apply (percent).

    ``parts`` holds the metric's named parts from ``bench.metrics``.
    """

    metric: str
    value: float
    top1: float | None
    top5: float | None
    parts: dict[str, float] = field(default_factory=dict)


def score(
    metric: str,
    scores: torch.Tensor | np.ndarray,
    labels: torch.Tensor,
    side: Mapping[str, Any] | None = None,
) -> Scores:
    """The task's metric plus top-1 and top-5 accuracy.

    Top-1/top-5 are ``None`` for multi-label tasks; top-5 is ``None`` with fewer than 6
    classes (it would be trivially 100).

    Args:
        metric: A ``bench.metrics`` name.
        scores: ``[N, C]`` logits or probabilities.
        labels: ``[N]`` class indices or ``[N, C]`` multi-hot.
        side: Per-item side data the metric needs (``bench.metrics``).
    """
    from bench import metrics

    s = scores.detach().float().cpu().numpy() if isinstance(scores, torch.Tensor) else scores
    y = labels.cpu().numpy()
    parts = {k: float(v) for k, v in metrics.compute_details(metric, s, y, **(side or {})).items()}
    value = parts[metrics.get_metric(metric).name]
    if y.ndim != 1:
        return Scores(metric, value, None, None, parts)
    top1 = float(metrics.topk_accuracy(s, y, 1))
    top5 = float(metrics.topk_accuracy(s, y, 5)) if s.shape[1] > 5 else None
    return Scores(metric, value, top1, top5, parts)
