"""The ``linear-probe`` suite (the CLIP paper, appendix A.3) on the paper's probe features:
C searched on val, refit on train + val, scored on test
(:func:`bench.protocols.linear_probe.linear_probe`). Tasks with predefined training folds
(STL-10, ``probe_folds=10``) repeat this per fold and average the test metric over folds."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.features import SplitFeatures
from bench.protocols.linear_probe import Labeled, ProbeOutcome, linear_probe
from bench.suites.base import SUITES, Suite, has_train
from bench.suites.context import RunContext, ci_fields

SUITE = "linear-probe"


def probe_split(fs: SplitFeatures) -> Labeled:
    """A split's probe features (checked finite by the extraction), labels and side data."""
    return Labeled(fs.probe, fs.labels, fs.side)


def checked_outcome(ctx: RunContext, task: Any, outcome: ProbeOutcome) -> ProbeOutcome:
    """Fails the task if the probe's test outputs are not finite."""
    ctx.check(outcome.proba, "probe output", task, "test")
    return outcome


def run_linear_probe(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """One result per task (folds averaged)."""
    for task in tasks:
        if ctx.done(task, suite.name):
            continue
        t0 = time.perf_counter()
        folds = list(range(task.probe_folds)) if task.probe_folds > 1 else [None]
        test = probe_split(ctx.features(task, "test"))
        outcomes: list[ProbeOutcome] = []
        sizes: dict[str, int] = {}
        for fold in folds:
            train = probe_split(ctx.features(task, "train", fold))
            val = probe_split(ctx.features(task, "val", fold))
            outcome = linear_probe(train, val, test, task.metric, device=ctx.settings.device)
            outcomes.append(checked_outcome(ctx, task, outcome))
            sizes = {"train": len(train), "val": len(val), "test": len(test)}
        value = _mean([o.scores.value for o in outcomes])
        probas = [o.proba for o in outcomes]
        ctx.write(
            ctx.new_result(
                task,
                suite.name,
                value=value,
                top1=_mean([o.scores.parts.get("top1") for o in outcomes]),
                top5=_mean([o.scores.parts.get("top5") for o in outcomes]),
                metrics=_mean_parts([o.scores.parts for o in outcomes]),
                split_sizes=sizes,
                probe={**ctx.probe_info(), **_probe_record(outcomes, folds)},
                timings={"probe": sum(o.fitted.seconds for o in outcomes)},
                started=t0,
                **ci_fields(
                    task.metric,
                    probas[0] if len(probas) == 1 else probas,
                    test.y,
                    test.side,
                    value,
                ),  # fmt: skip
            )
        )


def probe_needs(task: Any) -> list[tuple[Any, str, int | None]]:
    """Test, and train and val of every fold."""
    folds = list(range(task.probe_folds)) if task.probe_folds > 1 else [None]
    return [(task, "test", None)] + [(task, s, f) for f in folds for s in ("train", "val")]


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


SUITES.register(
    SUITE,
    Suite(
        SUITE,
        "L-BFGS logistic regression, C searched on val, refit on train+val",
        runner=run_linear_probe,
        accepts=has_train,
        requirement="a train split",
        order=20,
        needs=probe_needs,
    ),
)
