"""Few-shot linear probes (paper, section 3.1.5 and figure 6).

For k in :data:`SHOTS` and each seed in :data:`SEEDS`:

* training set: k examples per class drawn (seeded, without replacement) from the task's
  ``train`` features;
* choosing C without touching test: another k examples per class drawn from the ``val``
  split (so the labelled budget per class is k for fitting plus k for choosing C, and the
  C search never sees more data than the k-shot setting allows); ``bench.probe.search_C``
  picks C on them;
* the probe is refitted on the k-shot training set alone at that C and scored on the full
  test split with the task's metric.

Each (k, seed) is one result file (``few-shot-<k>shot-seed<s>.json``); the mean and the
sample standard deviation (ddof=1) across seeds go to ``few-shot-<k>shot.json`` (``seed``
null, ``aggregate`` holding the seeds and values). Zero-shot is the 0-shot point,
``few-shot-0shot.json``. Multi-label tasks draw, for each class in turn, k not yet drawn
examples that have the class.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from bench.features import SplitFeatures
from bench.linear_probe_suite import fit_and_score

if TYPE_CHECKING:  # pragma: no cover
    from bench.suites import RunContext, Suite

SUITE = "few-shot"
SHOTS = (1, 2, 4, 8, 16)
SEEDS = (0, 1, 2)


def sample_per_class(
    labels: torch.Tensor | np.ndarray, k: int, seed: int, salt: int = 0
) -> np.ndarray:
    """Sorted indices of up to ``k`` examples per class (all of a class with fewer than k).

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


def subset(fs: SplitFeatures, idx: np.ndarray) -> SplitFeatures:
    """The rows ``idx`` of a split's features."""
    return fs.subset(idx)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value)."""
    arr = np.asarray(values, dtype=np.float64)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return float(arr.mean()), std


def run_few_shot(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """The ``few-shot`` suite: zero-shot as 0 shots, then k-shot probes over seeds."""
    shots = tuple(suite.settings.get("shots", SHOTS))
    seeds = tuple(suite.settings.get("seeds", SEEDS))
    for task in tasks:
        if not ctx.done(task, SUITE, shots=0):
            ctx.write(_zero_shot_point(ctx, task))
        for k in shots:
            values = [_one_seed(ctx, task, k, seed) for seed in seeds]
            if ctx.done(task, SUITE, shots=k):
                continue
            mean, std = mean_std(values)
            ctx.write(
                ctx.new_result(
                    task,
                    SUITE,
                    shots=k,
                    value=mean,
                    aggregate={"seeds": list(seeds), "values": values, "std": std},
                    split_sizes={},
                    started=time.perf_counter(),
                )
            )


def _zero_shot_point(ctx: RunContext, task: Any) -> Any:
    from bench.suites import zero_shot_result

    result = zero_shot_result(ctx, task)
    result.suite, result.shots = SUITE, 0
    return result


def _one_seed(ctx: RunContext, task: Any, k: int, seed: int) -> float:
    """The test metric of one (k, seed) probe: read from its result file or computed."""
    done = ctx.done(task, SUITE, shots=k, seed=seed)
    if done is not None:
        return done.value
    t0 = time.perf_counter()
    train, val = ctx.features(task, "train", _fold(task)), ctx.features(task, "val", _fold(task))
    test = ctx.features(task, "test")
    tr = subset(train, sample_per_class(train.labels, k, seed, salt=0))
    va = subset(val, sample_per_class(val.labels, k, seed, salt=1))
    outcome = fit_and_score(tr, va, test, task.metric, refit_on_val=False, device=ctx.device)
    result = ctx.new_result(
        task,
        SUITE,
        shots=k,
        seed=seed,
        value=outcome.scores.value,
        top1=outcome.scores.parts.get("top1"),
        top5=outcome.scores.parts.get("top5"),
        metrics=outcome.scores.parts,
        split_sizes={"train": len(tr), "val": len(va), "test": len(test)},
        probe={"C": outcome.C, "search": outcome.search, "refit": "train (k-shot)"},
        timings={"probe": outcome.seconds},
        started=t0,
    )
    ctx.write(result)
    return result.value


def _fold(task: Any) -> int | None:
    # STL-10's folds are 1,000-image subsets of train; few-shot draws from fold 0.
    return 0 if task.probe_folds > 1 else None
