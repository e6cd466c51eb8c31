"""The distribution-shift suite: ImageNet and its 7 shifts, scored with ImageNet heads.

Two heads, each giving 1000 ImageNet scores per image (the CLIP paper, section 3.3):

* ``zero-shot``: the ImageNet zero-shot classifier (1000 class names x 80 templates);
* ``adapt-imagenet``: the L-BFGS linear probe fitted on ImageNet features ("adapt to ImageNet").

A shift's classes are a subset or a pooling of ImageNet's: ``task.imagenet_pool`` lists, for each
shift class, the ImageNet indices whose scores are max-pooled (an empty tuple gives ``-inf``, e.g.
YouTube-BB's classes that ImageNet lacks; ``None`` keeps all 1000). The shift's metric is computed on
the pooled scores. For each shift we also report ``imagenet_subsampled``: top-1 on the ImageNet val
images of the shift's classes, the testbed's ``val-on-<shift>-classes`` (the x of effective robustness):

* ``restrict`` (ImageNet-R, -A, ObjectNet): images whose label is among the shift's ImageNet indices;
  scores restricted to those indices; correct when the arg-max is the image's own ImageNet class
  (``eval_settings/objectnet.py: accuracy_topk_subselected`` in the testbed);
* ``pool`` (ImageNet-Vid, YouTube-BB): the same images, scores max-pooled into the shift's classes;
  correct when the arg-max is the class that owns the label (``validate_val_on_vid_robust_classes``);
* full ImageNet val for ImageNetV2 and ImageNet-Sketch (``imagenet_pool`` is ``None`` or all 1000).

Each outcome is written as suite ``robustness`` (zero-shot head) or ``robustness-adapt`` (the
ImageNet probe, fitted by the linear-probe protocol: C searched on ImageNet val, refit on
ImageNet train + val, on the paper's probe features). A shift whose data is missing (or that
fails otherwise) is reported and the others still run.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from bench import metrics
from bench.errors import BenchError
from bench.features import SplitFeatures
from bench.protocols.linear_probe import fit_searched
from bench.protocols.zero_shot import logits
from bench.robustness import SHIFTS
from bench.suites.base import SUITES, Suite
from bench.suites.context import RunContext, ci_fields
from bench.suites.linear_probe import probe_split

if TYPE_CHECKING:  # pragma: no cover
    from bench.tasks import Task

IMAGENET = "imagenet"
#: The suite each head's results are written under.
HEAD_SUITES = {"zero-shot": "robustness", "adapt-imagenet": "robustness-adapt"}
HEADS = tuple(HEAD_SUITES)
# Shifts whose class-subsampled ImageNet accuracy pools scores into the shift's classes (the
# testbed's rule for its video benchmarks); all others restrict to the shift's ImageNet indices.
POOLED_SUBSAMPLE = frozenset({"imagenet_vid", "ytbb"})

Head = Callable[[SplitFeatures], torch.Tensor]


@dataclass(frozen=True)
class ShiftOutcome:
    """One task scored with one head.

    Attributes:
        task: Task name (``imagenet`` or a shift).
        head: ``zero-shot`` or ``adapt-imagenet``.
        metric: The task's metric name.
        value: The metric in percent.
        metrics: Parts of the metric (``top1``, ``top5``, ``pm0``, ``pm10`` where they apply) and
            ``imagenet_subsampled`` (percent).
        n: Number of test examples scored.
        ci: The result's ``n`` and ``ci`` (:func:`bench.suites.context.ci_fields`).
    """

    task: str
    head: str
    metric: str
    value: float
    metrics: dict[str, float] = field(default_factory=dict)
    n: int = 0
    ci: dict[str, Any] = field(default_factory=dict)

    @property
    def suite(self) -> str:
        """The suite name its result file is written under."""
        return HEAD_SUITES[self.head]


Pool = Sequence[Sequence[int]] | None


def pool_scores(scores: torch.Tensor, pool: Pool) -> torch.Tensor:
    """Max-pools ImageNet scores ``[N, 1000]`` into a shift's classes ``[N, len(pool)]``.

    An empty index tuple gives the class ``-inf``; ``pool=None`` returns ``scores`` unchanged.
    """
    if pool is None:
        return scores
    out = scores.new_full((scores.shape[0], len(pool)), float("-inf"))
    for c, idx in enumerate(pool):
        if len(idx):
            out[:, c] = scores[:, list(idx)].amax(dim=1)
    return out


def _is_identity(pool: Pool, n_classes: int) -> bool:
    return pool is None or (
        len(pool) == n_classes and all(tuple(p) == (i,) for i, p in enumerate(pool))
    )


def subsampled_top1(scores: torch.Tensor, labels: torch.Tensor, pool: Pool, mode: str) -> float:
    """Top-1 (percent) on ImageNet val images of a shift's classes (see the module docstring).

    Args:
        scores: ImageNet scores ``[N, 1000]`` of ImageNet val.
        labels: ImageNet labels ``[N]``.
        pool: The shift's ``imagenet_pool``.
        mode: ``"restrict"`` or ``"pool"``.

    Raises:
        BenchError: if no val image belongs to the shift's classes, or for an unknown mode.
    """
    labels = labels.long()
    if _is_identity(pool, scores.shape[1]):
        return float((scores.argmax(1) == labels).double().mean() * 100)
    owner = {i: c for c, idx in enumerate(pool) for i in idx}
    keep = torch.tensor([int(y) in owner for y in labels.tolist()], dtype=torch.bool)
    if not keep.any():
        raise BenchError(
            "no ImageNet val image belongs to the shift's classes; check imagenet_pool"
        )
    s, y = scores[keep], labels[keep]
    if mode == "restrict":
        union = sorted(set(itertools.chain.from_iterable(pool)))
        position = {i: k for k, i in enumerate(union)}
        target = torch.tensor([position[int(v)] for v in y.tolist()])
        pred = s[:, union].argmax(1)
    elif mode == "pool":
        target = torch.tensor([owner[int(v)] for v in y.tolist()])
        pred = pool_scores(s, pool).argmax(1)
    else:
        raise BenchError(f"unknown subsample mode {mode!r}; valid choices: restrict, pool")
    return float((pred == target).double().mean() * 100)


def score_task(
    task: Task, scores: torch.Tensor, labels: torch.Tensor, side: Any = None
) -> tuple[float, dict[str, float]]:
    """The task's metric on pooled scores, with its parts (percent).

    Args:
        task: The task (its ``metric``).
        scores: ``[N, C]`` pooled scores.
        labels: The test labels.
        side: The test split's side data (``SplitFeatures.side``: the video tasks' ``anchors``
            and ``pmk_sets``); an object with those attributes is accepted too.

    Returns:
        ``(value, parts)``: parts hold ``top1``/``top5`` for single-label tasks and the metric's
        own parts (``pm0``, ``pm10``) from :func:`bench.metrics.score`.
    """
    if side is not None and not isinstance(side, dict):
        needs = metrics.get_metric(task.metric).needs
        side = {k: getattr(side, k) for k in needs if hasattr(side, k)}
    s = metrics.score(task.metric, scores, labels, side or {})
    return s.value, {k: v for k, v in s.parts.items() if k != task.metric}


def zero_shot_head(ctx: RunContext, imagenet: Task) -> Head:
    """``100 * cos(embedding, class)`` with the run context's ImageNet classifier."""
    weights = ctx.classifier(imagenet)
    return lambda fs: logits(fs.embedding, weights)


def adapt_head(ctx: RunContext, imagenet: Task) -> Head:
    """The ImageNet linear probe ("adapt to ImageNet"), fitted by the linear-probe protocol:
    C searched on ImageNet val, refit on ImageNet train + val, on the probe features."""
    train = probe_split(ctx.features(imagenet, "train"))
    val = probe_split(ctx.features(imagenet, "val"))
    fitted = fit_searched(
        train, val, train + val, metric=imagenet.metric, device=ctx.settings.device
    )
    return probe_head(fitted.probe, imagenet.num_classes)


def probe_head(probe: Any, n_classes: int) -> Head:
    """Scores ImageNet classes with a fitted linear probe (its logits, in class order).

    Raises:
        BenchError: if the probe was not fitted on all ``n_classes`` ImageNet classes.
    """
    classes = np.asarray(probe.classes_)
    if len(classes) != n_classes or not np.array_equal(classes, np.arange(n_classes)):
        raise BenchError(
            f"the ImageNet probe knows {len(classes)} classes, not the {n_classes} ImageNet "
            "classes; fit it on ImageNet train features with every class present"
        )

    def head(fs: SplitFeatures) -> torch.Tensor:
        return torch.from_numpy(np.asarray(probe.decision_function(fs.probe), dtype=np.float32))

    return head


def evaluate_task(
    ctx: RunContext,
    head_name: str,
    head: Head,
    task: Task,
    val: SplitFeatures,
    val_scores: torch.Tensor,
) -> ShiftOutcome:
    """One task's metric with one head, and the class-subsampled ImageNet val accuracy."""
    test = val if task.name == IMAGENET else ctx.features(task, "test")
    scores = val_scores if task.name == IMAGENET else head(test)
    ctx.check(scores, f"{head_name} logit", task, "test")
    pool = None if task.name == IMAGENET else task.imagenet_pool
    pooled = pool_scores(scores, pool)
    value, parts = score_task(task, pooled, test.labels, test.side)
    mode = "pool" if task.name in POOLED_SUBSAMPLE else "restrict"
    parts["imagenet_subsampled"] = subsampled_top1(val_scores, val.labels, pool, mode)
    ci = ci_fields(task.metric, pooled, test.labels, test.side, value)
    return ShiftOutcome(task.name, head_name, task.metric, value, parts, len(test), ci)


def run_robustness(ctx: RunContext, tasks: Sequence[Task], suite: Suite) -> None:
    """Scores ImageNet and its shifts with each head whose results are not yet there.

    ImageNet's official val images (its ``test`` split) are needed in any case (the
    class-subsampled accuracies); a shift that fails is listed in the run's summary and the
    other shifts still run.
    """
    from bench.tasks import get_task

    todo = {(t.name, s) for t in tasks for s in HEAD_SUITES.values() if ctx.done(t, s) is None}
    if not todo:
        return
    imagenet = get_task(IMAGENET)
    val = ctx.features(imagenet, "test")
    for head_name, make in (("zero-shot", zero_shot_head), ("adapt-imagenet", adapt_head)):
        wanted = [t for t in tasks if (t.name, HEAD_SUITES[head_name]) in todo]
        if not wanted:
            continue
        t0 = time.perf_counter()
        head = make(ctx, imagenet)
        val_scores = head(val)
        ctx.check(val_scores, f"{head_name} logit", imagenet, "test")
        for task in wanted:
            try:
                outcome = evaluate_task(ctx, head_name, head, task, val, val_scores)
            except BenchError as e:
                ctx.summary.failed.append((HEAD_SUITES[head_name], task.name, str(e)))
                continue
            ctx.write(_result(ctx, task, outcome, t0))


def _result(ctx: RunContext, task: Task, o: ShiftOutcome, started: float) -> Any:
    return ctx.new_result(
        task,
        o.suite,
        value=o.value,
        top1=o.metrics.get("top1"),
        top5=o.metrics.get("top5"),
        metrics={k: float(v) for k, v in o.metrics.items()},
        split_sizes={"test": int(o.n)},
        started=started,
        **o.ci,
    )


def robustness_needs(task: Task) -> list[tuple[Any, str, int | None]]:
    """ImageNet's train, val (the adapt head) and test (its val images); a shift's test."""
    from bench.tasks import get_task

    imagenet = get_task(IMAGENET)
    base = [(imagenet, "test", None), (imagenet, "train", None), (imagenet, "val", None)]
    return base if task.name == IMAGENET else [*base, (task, "test", None)]


def _is_robustness_task(task: Any) -> bool:
    return task.name == IMAGENET or task.name in SHIFTS


SUITES.register(
    "robustness",
    Suite(
        "robustness",
        f"ImageNet and its {len(SHIFTS)} shifts, zero-shot and adapted to ImageNet",
        tag=None,
        runner=run_robustness,
        accepts=_is_robustness_task,
        requirement="ImageNet or one of its distribution shifts",
        per_task=False,
        order=40,
        needs=robustness_needs,
    ),
)
