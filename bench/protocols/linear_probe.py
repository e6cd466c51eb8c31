"""The linear-probe protocol (the CLIP paper, appendix A.3) and its few-shot variant.

:func:`linear_probe`: train and validation features -> ``bench.probe.search_C`` (the
parametric L2 search, fitted on train, scored on val with the task's metric) -> refit a
:class:`bench.probe.LinearProbe` on train + validation at the best C -> the task's metric on
the test split, computed on the probe's class probabilities. Used by the ``linear-probe`` suite
and by the robustness suite's "adapt to ImageNet" head (:func:`fit_searched` alone).

:func:`few_shot_probe`: the same search, but the probe is refitted on the k-shot training set
alone (the validation draw only chooses C).

Features are the paper's probe features (``EvalModel.image_features(...)[1]``: a ViT's class
token before the projection, a ResNet's attention-pool output).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bench.metrics import Score, score


@dataclass(frozen=True)
class Labeled:
    """Features ``x`` ``[N, D]`` with their labels ``y`` (``[N]`` or ``[N, C]`` multi-hot)."""

    x: torch.Tensor
    y: torch.Tensor
    side: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def subset(self, idx: np.ndarray) -> Labeled:
        """The rows ``idx``."""
        t = torch.as_tensor(idx, dtype=torch.long)
        return Labeled(self.x[t], self.y[t])  # side data is per test split only

    def __add__(self, other: Labeled) -> Labeled:
        return Labeled(torch.cat([self.x, other.x]), torch.cat([self.y, other.y]))


@dataclass
class FittedProbe:
    """A probe fitted at the C chosen on val, with the search's scores and what it saw."""

    probe: Any
    C: float
    search: list[list[float]]
    fit_size: int
    seconds: float


@dataclass
class ProbeOutcome:
    """A fitted probe's test scores and its test class probabilities."""

    scores: Score
    fitted: FittedProbe
    proba: np.ndarray

    @property
    def C(self) -> float:
        return self.fitted.C

    @property
    def search(self) -> list[list[float]]:
        return self.fitted.search


def search_scores(scores: Any) -> list[list[float]]:
    """``search_C``'s scores as ``[[C, validation score], ...]`` sorted by C (for JSON)."""
    items = scores.items() if isinstance(scores, dict) else scores
    return sorted([float(c), float(s)] for c, s in items)


def fit_searched(
    train: Labeled, val: Labeled, fit_on: Labeled, *, metric: str, device: Any = None
) -> FittedProbe:
    """Chooses C on ``val`` (probes fitted on ``train``), then fits on ``fit_on`` at that C.

    Args:
        train, val: The search's fitting and scoring sets.
        fit_on: What the final probe is fitted on (``train + val`` for the paper's linear
            probe, the k-shot ``train`` for few-shot).
        metric: The task's metric name (``bench.metrics``), used to score the search.
        device: Where to fit (the run's device).
    """
    from bench.probe import LinearProbe, search_C

    t0 = time.perf_counter()
    best_c, c_scores = search_C(train.x, train.y, val.x, val.y, metric=metric, device=device)
    probe = LinearProbe(C=best_c, device=device).fit(fit_on.x, fit_on.y)
    seconds = time.perf_counter() - t0
    return FittedProbe(probe, float(best_c), search_scores(c_scores), len(fit_on), seconds)


def probe_proba(fitted: FittedProbe, test: Labeled) -> np.ndarray:
    """The probe's class probabilities on ``test``, one column per class index."""
    proba = np.asarray(fitted.probe.predict_proba(test.x), dtype=np.float64)
    return _full_columns(proba, fitted.probe.classes_, test.y)


def linear_probe(
    train: Labeled, val: Labeled, test: Labeled, metric: str, *, device: Any = None
) -> ProbeOutcome:
    """The paper's protocol: C searched on val, refit on train + val, scored on test."""
    fitted = fit_searched(train, val, train + val, metric=metric, device=device)
    proba = probe_proba(fitted, test)
    return ProbeOutcome(score(metric, proba, test.y, test.side), fitted, proba)


def few_shot_probe(
    train: Labeled, val: Labeled, test: Labeled, metric: str, *, device: Any = None
) -> ProbeOutcome:
    """Few-shot: C searched on the k-shot val draw, refit on the k-shot train set only."""
    fitted = fit_searched(train, val, train, metric=metric, device=device)
    proba = probe_proba(fitted, test)
    return ProbeOutcome(score(metric, proba, test.y, test.side), fitted, proba)


def _full_columns(proba: np.ndarray, classes: Any, labels: torch.Tensor) -> np.ndarray:
    """Puts the probe's columns at their class indices when training lacked some classes."""
    if labels.ndim != 1:
        return proba
    classes = np.asarray(classes)
    n = max(int(labels.max()) + 1, int(classes.max()) + 1)
    if len(classes) == n and np.array_equal(classes, np.arange(n)):
        return proba
    full = np.zeros((proba.shape[0], n), dtype=proba.dtype)
    full[:, classes.astype(int)] = proba
    return full
