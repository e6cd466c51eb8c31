"""The linear-probe protocol on cached features (paper, appendix A.3).

Train and validation features -> ``bench.probe.search_C`` (the parametric L2 search) ->
refit ``LinearProbe`` on train + validation at the best C -> the task's metric on the test
split, computed on the probe's class probabilities. Tasks with predefined training folds
(STL-10, ``probe_folds=10``) repeat this per fold and average the test metric over folds.

Features are the model's unnormalised ``encode_image`` outputs, as in OpenAI's linear-probe
example (``LogisticRegression`` on ``model.encode_image``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from bench.features import SplitFeatures
from bench.metrics import Score, score

if TYPE_CHECKING:  # pragma: no cover
    from bench.suites import RunContext, Suite

SUITE = "linear-probe"


@dataclass
class ProbeOutcome:
    """A fitted probe's test scores, the chosen C and the C search's validation scores."""

    scores: Score
    C: float
    search: list[list[float]]
    seconds: float


def search_scores(scores: Any) -> list[list[float]]:
    """``search_C``'s scores as ``[[C, validation score], ...]`` sorted by C (for JSON)."""
    items = scores.items() if isinstance(scores, dict) else scores
    return sorted([float(c), float(s)] for c, s in items)


def fit_and_score(
    train: SplitFeatures,
    val: SplitFeatures,
    test: SplitFeatures,
    metric: str,
    *,
    refit_on_val: bool = True,
    device: torch.device | str | None = None,
) -> ProbeOutcome:
    """Chooses C on ``val``, refits, and scores ``test`` with the task's metric.

    Args:
        train, val, test: Features and labels of the three splits.
        metric: The task's metric name (``bench.metrics``).
        refit_on_val: Refit on train + val at the best C (the paper's protocol); few-shot
            refits on its k-shot train set only.
        device: Where to fit (default CUDA when available).

    Returns:
        The test scores, the chosen C, the search's scores and the seconds taken.
    """
    from bench.probe import LinearProbe, search_C

    t0 = time.perf_counter()
    best_c, c_scores = search_C(
        train.embedding, train.labels, val.embedding, val.labels, metric=metric, device=device
    )
    x, y = train.embedding, train.labels
    if refit_on_val:
        x, y = torch.cat([x, val.embedding]), torch.cat([y, val.labels])
    probe = LinearProbe(C=best_c, device=device).fit(x, y)
    proba = np.asarray(probe.predict_proba(test.embedding), dtype=np.float64)
    proba = _full_columns(proba, probe.classes_, test.labels)
    result = score(metric, proba, test.labels, test.side)
    return ProbeOutcome(result, float(best_c), search_scores(c_scores), time.perf_counter() - t0)


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


def run_linear_probe(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """The ``linear-probe`` suite: one result per task (folds averaged)."""
    for task in tasks:
        if ctx.done(task, SUITE):
            continue
        t0 = time.perf_counter()
        folds = list(range(task.probe_folds)) if task.probe_folds > 1 else [None]
        test = ctx.features(task, "test")
        outcomes, sizes = [], {}
        for fold in folds:
            train, val = ctx.features(task, "train", fold), ctx.features(task, "val", fold)
            outcomes.append(fit_and_score(train, val, test, task.metric, device=ctx.device))
            sizes = {"train": len(train), "val": len(val), "test": len(test)}
        ctx.write(
            ctx.new_result(
                task,
                SUITE,
                value=_mean([o.scores.value for o in outcomes]),
                top1=_mean([o.scores.parts.get("top1") for o in outcomes]),
                top5=_mean([o.scores.parts.get("top5") for o in outcomes]),
                metrics=_mean_parts([o.scores.parts for o in outcomes]),
                split_sizes=sizes,
                probe=_probe_record(outcomes, folds),
                timings={"probe": sum(o.seconds for o in outcomes)},
                started=t0,
            )
        )


def _probe_record(outcomes: list[ProbeOutcome], folds: list[int | None]) -> dict[str, Any]:
    if len(outcomes) == 1:
        o = outcomes[0]
        return {"C": o.C, "search": o.search, "refit": "train+val"}
    return {
        "C": float(np.exp(np.mean(np.log([o.C for o in outcomes])))),  # geometric mean
        "search": outcomes[0].search,
        "refit": "train+val",
        "folds": [
            {"fold": f, "C": o.C, "value": o.scores.value, "search": o.search}
            for f, o in zip(folds, outcomes, strict=True)
        ],
    }


def _mean(values: list[float | None]) -> float | None:
    if any(v is None for v in values):
        return None
    return float(np.mean(values))


def _mean_parts(parts: list[dict[str, float]]) -> dict[str, float]:
    keys = set.intersection(*(set(p) for p in parts)) if parts else set()
    return {k: float(np.mean([p[k] for p in parts])) for k in sorted(keys)}
