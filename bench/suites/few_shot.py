"""The ``few-shot`` suite (the CLIP paper, section 3.1.5 and figure 6).

For k in ``shots`` and each seed in ``seeds``: k examples per class drawn (seeded, without
replacement) from the task's ``train`` features are the training set; another k per class
drawn from ``val`` choose C (so the C search never sees more labelled data than the k-shot
setting allows); the probe is refitted on the k-shot training set alone at that C
(:func:`bench.protocols.linear_probe.few_shot_probe`) and scored on the full test split.

Each (k, seed) is one result file (``few-shot-<k>shot-seed<s>.json``); the mean and the sample
standard deviation (ddof=1) across seeds go to ``few-shot-<k>shot.json`` (``seed`` null,
``aggregate`` holding the seeds and values). Zero-shot (the run context's classifier) is the
0-shot point, ``few-shot-0shot.json``.
"""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import Any

from bench.protocols.few_shot import SEEDS, SHOTS, mean_std, sample_per_class
from bench.protocols.linear_probe import few_shot_probe
from bench.suites.base import SUITES, Suite, has_train
from bench.suites.context import RunContext, ci_fields
from bench.suites.linear_probe import checked_outcome, probe_split
from bench.suites.zero_shot import zero_shot_result

SUITE = "few-shot"


def run_few_shot(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """Zero-shot as 0 shots, then k-shot probes over seeds, then each k's aggregate."""
    shots = tuple(suite.settings.get("shots", SHOTS))
    seeds = tuple(suite.settings.get("seeds", SEEDS))
    for task in tasks:
        if not ctx.done(task, suite.name, shots=0):
            ctx.write(zero_shot_result(ctx, task, suite.name, shots=0))
        for k in shots:
            values = [_one_seed(ctx, task, suite.name, k, seed) for seed in seeds]
            if ctx.done(task, suite.name, shots=k):
                continue
            mean, std = mean_std(values)
            ctx.write(
                ctx.new_result(
                    task,
                    suite.name,
                    shots=k,
                    value=mean,
                    aggregate={"seeds": list(seeds), "values": values, "std": std},
                    split_sizes={},
                    started=time.perf_counter(),
                )
            )


def _one_seed(ctx: RunContext, task: Any, suite: str, k: int, seed: int) -> float:
    """The test metric of one (k, seed) probe: read from its result file or computed."""
    done = ctx.done(task, suite, shots=k, seed=seed)
    if done is not None:
        return done.value
    t0 = time.perf_counter()
    fold = _fold(task)
    train = probe_split(ctx.features(task, "train", fold))
    val = probe_split(ctx.features(task, "val", fold))
    test = probe_split(ctx.features(task, "test"))
    tr = train.subset(sample_per_class(train.y, k, seed, salt=0))
    va = val.subset(sample_per_class(val.y, k, seed, salt=1))
    outcome = few_shot_probe(tr, va, test, task.metric, device=ctx.settings.device)
    checked_outcome(ctx, task, outcome)
    result = ctx.new_result(
        task,
        suite,
        shots=k,
        seed=seed,
        value=outcome.scores.value,
        top1=outcome.scores.parts.get("top1"),
        top5=outcome.scores.parts.get("top5"),
        metrics=outcome.scores.parts,
        split_sizes={"train": len(tr), "val": len(va), "test": len(test)},
        probe={**ctx.probe_info(), "C": outcome.C, "search": outcome.search,
               "refit": "train (k-shot)"},
        timings={"probe": outcome.fitted.seconds},
        started=t0,
        **ci_fields(task.metric, outcome.proba, test.y, test.side, outcome.scores.value),
    )  # fmt: skip
    ctx.write(result)
    return result.value


def few_shot_needs(task: Any) -> list[tuple[Any, str, int | None]]:
    """Train and val (fold 0 for STL-10) and test."""
    fold = _fold(task)
    return [(task, "train", fold), (task, "val", fold), (task, "test", None)]


def _fold(task: Any) -> int | None:
    # STL-10's folds are 1,000-image subsets of train; few-shot draws from fold 0.
    return 0 if task.probe_folds > 1 else None


SUITES.register(
    SUITE,
    Suite(
        SUITE,
        "k-shot linear probes (k = 1, 2, 4, 8, 16; 3 seeds) plus zero-shot as 0 shots",
        runner=run_few_shot,
        accepts=has_train,
        requirement="a train split",
        settings=MappingProxyType({"shots": SHOTS, "seeds": SEEDS}),
        order=30,
        needs=few_shot_needs,
    ),
)
