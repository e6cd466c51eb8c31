"""Choosing the similarity threshold on synthetic near-duplicates, with its precision and recall.

The calibration set is built from the training images themselves, so it reflects the
detector on this data: a seeded sample is split in two halves. Each image of the first
half is edited once (:func:`bench.overlap.augment.augment`: resize, JPEG re-encode, small
crop, colour change or a combination) and searched for in the whole training set, where
its original is (a positive). Each image of the second half is edited the same way and
searched for with its original masked out (a negative: held out, only unrelated images
remain). The decision per query is the deployed one: best similarity >= threshold.

Rule: the threshold maximises F1 on that balanced set, placed midway between the lowest
accepted score and the next lower score; ties go to the higher threshold (fewer false
hits). Precision and recall are measured at it. Near-duplicates inside the training set
make some negatives look positive, so the measured precision is then conservative.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bench.errors import BenchError

RULE = "max F1 on balanced edited-copy queries (found vs held out), midpoint threshold"


@dataclass(frozen=True)
class Calibration:
    """A threshold and how it does on the calibration queries (fractions 0-1)."""

    threshold: float
    source: str  # "calibrated" or "given"
    precision: float
    recall: float
    n_positive: int
    n_negative: int
    rule: str = RULE

    def to_dict(self) -> dict:
        return asdict(self)


def precision_recall(pos: np.ndarray, neg: np.ndarray, threshold: float) -> tuple[float, float]:
    """Precision and recall of ``score >= threshold`` (precision 1.0 when nothing is flagged)."""
    tp = int((pos >= threshold).sum())
    fp = int((neg >= threshold).sum())
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / len(pos) if len(pos) else 0.0)


def calibrate(pos: np.ndarray, neg: np.ndarray, given: float | None = None) -> Calibration:
    """The threshold (chosen, or ``given``) and its precision/recall on ``pos``/``neg`` scores.

    Raises:
        BenchError: no calibration scores and no given threshold.
    """
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    if given is not None:
        p, r = precision_recall(pos, neg, given) if len(pos) else (float("nan"),) * 2
        return Calibration(float(given), "given", p, r, len(pos), len(neg))
    if not len(pos) or not len(neg):
        raise BenchError(
            "too few training images to calibrate the threshold (need at least 4); "
            "pass --threshold T (a cosine similarity, e.g. 0.7)"
        )
    scores = np.unique(np.concatenate([pos, neg]))[::-1]  # descending
    best_f1, best_k = -1.0, 0
    for k, t in enumerate(scores):
        p, r = precision_recall(pos, neg, t)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best_f1 + 1e-12:
            best_f1, best_k = f1, k
    upper = scores[best_k]
    lower = scores[best_k + 1] if best_k + 1 < len(scores) else upper - 1e-3
    threshold = float((upper + lower) / 2)
    p, r = precision_recall(pos, neg, threshold)
    return Calibration(threshold, "calibrated", p, r, len(pos), len(neg))
