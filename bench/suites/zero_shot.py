"""The ``zero-shot`` suite: each task's test split scored with its prompt-ensemble classifier
(every name of every class), on the model's image embeddings.

The run's prompt mode (``bench run --prompts``, :data:`bench.protocols.zero_shot.PROMPT_MODES`)
picks the templates: the task's ensemble (``zero-shot.json``), the single prompt
(``zero-shot-single.json``) or the bare class name (``zero-shot-classname.json``); each result
records ``prompts["mode"]``. The few-shot suite's 0-shot point is always the ensemble.
"""

from __future__ import annotations

import time
from typing import Any

from bench.metrics import score
from bench.protocols.zero_shot import ENSEMBLE, logits, mode_templates
from bench.results import Result
from bench.suites.base import SUITES, Suite, test_split
from bench.suites.context import RunContext, ci_fields

SUITE = "zero-shot"


def variant(mode: str) -> str | None:
    """The result file's variant part of a prompt mode (none for the ensemble)."""
    return None if mode == ENSEMBLE else mode


def zero_shot_result(
    ctx: RunContext, task: Any, suite: str = SUITE, mode: str = ENSEMBLE, **fields: Any
) -> Result:
    """Zero-shot on a task's test split with prompt ``mode`` (not yet written)."""
    t0 = time.perf_counter()
    test = ctx.features(task, "test")
    t1 = time.perf_counter()
    scores = logits(test.embedding, ctx.classifier(task, mode))
    ctx.check(scores, "zero-shot logit", task, "test")
    s = score(task.metric, scores, test.labels, test.side)
    names = [list(n) if len(n) > 1 else n[0] for n in task.class_prompts]
    templates = list(mode_templates(task.templates, mode))
    return ctx.new_result(
        task,
        suite,
        value=s.value,
        top1=s.parts.get("top1"),
        top5=s.parts.get("top5"),
        metrics=s.parts,
        split_sizes={"test": len(test)},
        prompts={"classnames": names, "templates": templates, "mode": mode},
        variant=variant(mode),
        timings={"classifier": time.perf_counter() - t1},
        started=t0,
        **ci_fields(task.metric, scores, test.labels, test.side, s.value),
        **fields,
    )


def run_zero_shot(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """One result per task, for the run's prompt mode."""
    for task in tasks:
        if ctx.done(task, suite.name, variant=variant(ctx.prompts)) is None:
            ctx.write(zero_shot_result(ctx, task, suite.name, ctx.prompts))


def _not_a_shift(task: Any) -> bool:
    return "shifts" not in task.tags and task.kind == "classification"


SUITES.register(
    SUITE,
    Suite(
        SUITE,
        "zero-shot with each task's prompt ensemble",
        runner=run_zero_shot,
        accepts=_not_a_shift,
        requirement="a classification task that is not an ImageNet shift (shifts are scored "
        "with the ImageNet classifier by --suite robustness; retrieval tasks by --suite "
        "retrieval)",
        order=10,
        needs=test_split,
    ),
)
