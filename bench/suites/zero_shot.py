"""The ``zero-shot`` suite: each task's test split scored with its prompt-ensemble classifier
(every name of every class), on the model's image embeddings."""

from __future__ import annotations

import time
from typing import Any

from bench.metrics import score
from bench.protocols.zero_shot import logits
from bench.results import Result
from bench.suites.base import SUITES, Suite, test_split
from bench.suites.context import RunContext

SUITE = "zero-shot"


def zero_shot_result(ctx: RunContext, task: Any, suite: str = SUITE, **fields: Any) -> Result:
    """Zero-shot on a task's test split with its prompt ensemble (not yet written)."""
    t0 = time.perf_counter()
    test = ctx.features(task, "test")
    t1 = time.perf_counter()
    scores = logits(test.embedding, ctx.classifier(task))
    ctx.check(scores, "zero-shot logit", task, "test")
    s = score(task.metric, scores, test.labels, test.side)
    names = [list(n) if len(n) > 1 else n[0] for n in task.class_prompts]
    return ctx.new_result(
        task,
        suite,
        value=s.value,
        top1=s.parts.get("top1"),
        top5=s.parts.get("top5"),
        metrics=s.parts,
        split_sizes={"test": len(test)},
        prompts={"classnames": names, "templates": list(task.templates)},
        timings={"classifier": time.perf_counter() - t1},
        started=t0,
        **fields,
    )


def run_zero_shot(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """One result per task."""
    for task in tasks:
        if ctx.done(task, suite.name) is None:
            ctx.write(zero_shot_result(ctx, task, suite.name))


def _not_a_shift(task: Any) -> bool:
    return "shifts" not in task.tags


SUITES.register(
    SUITE,
    Suite(
        SUITE,
        "zero-shot with each task's prompt ensemble",
        runner=run_zero_shot,
        accepts=_not_a_shift,
        requirement="a task that is not an ImageNet shift (shifts are scored with the "
        "ImageNet classifier by --suite robustness)",
        order=10,
        needs=test_split,
    ),
)
