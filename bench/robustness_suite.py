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

The suite runner (``bench.suites``) calls :func:`run_robustness` and writes each
:class:`ShiftOutcome` as a result file; see docs/ARCHITECTURE.md, "Robustness suite hook".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from bench.errors import BenchError
from bench.robustness import SHIFTS

if TYPE_CHECKING:  # pragma: no cover
    from bench.tasks import Task

IMAGENET = "imagenet"
HEADS = ("zero-shot", "adapt-imagenet")
# Suite name under which each head's results are written.
HEAD_SUITES = {"zero-shot": "robustness", "adapt-imagenet": "robustness-adapt"}
# Shifts whose class-subsampled ImageNet accuracy pools scores into the shift's classes (the
# testbed's rule for its video benchmarks); all others restrict to the shift's ImageNet indices.
POOLED_SUBSAMPLE = frozenset({"imagenet_vid", "ytbb"})

Pool = Sequence[Sequence[int]] | None


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
    """

    task: str
    head: str
    metric: str
    value: float
    metrics: dict[str, float] = field(default_factory=dict)
    n: int = 0

    @property
    def suite(self) -> str:
        """The suite name its result file is written under."""
        return HEAD_SUITES[self.head]


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
    from bench import metrics

    if side is not None and not isinstance(side, dict):
        needs = metrics.get_metric(task.metric).needs
        side = {k: getattr(side, k) for k in needs if hasattr(side, k)}
    s = metrics.score(task.metric, scores, labels, side or {})
    return s.value, {k: v for k, v in s.parts.items() if k != task.metric}


def zero_shot_head(model: Any, imagenet: Task) -> Callable[[torch.Tensor], torch.Tensor]:
    """Scores ``100 * cos(image, class)`` with the ImageNet zero-shot classifier."""
    from bench.zeroshot import build_classifier, logits

    weights = build_classifier(model, imagenet.class_prompts, imagenet.templates)

    def head(features: torch.Tensor) -> torch.Tensor:
        return logits(features.cpu(), weights)

    return head


def probe_head(probe: Any, n_classes: int) -> Callable[[torch.Tensor], torch.Tensor]:
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

    def head(features: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.asarray(probe.decision_function(features), dtype=np.float32))

    return head


def fit_imagenet_probe(
    features: Callable[[Task, str], Any], imagenet: Task, device: Any = None
) -> Any:
    """Fits the ImageNet probe as the linear-probe suite does: C searched on val, refit on
    train + val (``bench.linear_probe_suite.fit_and_score``'s protocol)."""
    from bench.probe import LinearProbe, search_C

    train, val = features(imagenet, "train"), features(imagenet, "val")
    best_c, _ = search_C(train.embedding, train.labels, val.embedding, val.labels)
    both_x = torch.cat([train.embedding, val.embedding])
    both_y = torch.cat([train.labels, val.labels])
    return LinearProbe(C=best_c, device=device).fit(both_x, both_y)


@dataclass
class _Inputs:
    """What both heads score: test features per task, ImageNet val, and the video datasets."""

    features: Callable[[Task, str], Any]
    imagenet_val: Any
    data_root: Any = None

    def test(self, task: Task) -> Any:
        """The task's test features (ImageNet's are its official val images)."""
        return self.imagenet_val if task.name == IMAGENET else self.features(task, "test")


def _evaluate_head(
    head_name: str,
    head: Callable[[torch.Tensor], torch.Tensor],
    tasks: Sequence[Task],
    inputs: _Inputs,
    progress: bool,
) -> list[ShiftOutcome]:
    from tqdm.auto import tqdm

    val_scores = head(inputs.imagenet_val.embedding)
    val_labels = inputs.imagenet_val.labels
    out = []
    for task in tqdm(tasks, desc=f"robustness ({head_name})", disable=not progress):
        test = inputs.test(task)
        labels = test.labels
        pool = None if task.name == IMAGENET else task.imagenet_pool
        scores = val_scores if task.name == IMAGENET else head(test.embedding)
        value, parts = score_task(task, pool_scores(scores, pool), labels, test.side)
        mode = "pool" if task.name in POOLED_SUBSAMPLE else "restrict"
        parts["imagenet_subsampled"] = subsampled_top1(val_scores, val_labels, pool, mode)
        out.append(ShiftOutcome(task.name, head_name, task.metric, value, parts, len(labels)))
    return out


def run_robustness(
    model: Any,
    features: Callable[[Task, str], Any],
    *,
    tasks: Sequence[str] | None = None,
    adapt: bool = True,
    probe: Any | None = None,
    data_root: Any = None,
    device: Any = None,
    progress: bool = True,
) -> list[ShiftOutcome]:
    """Scores ImageNet and its shifts with the zero-shot head and, optionally, the ImageNet probe.

    Args:
        model: A CLIP model (``encode_text`` is used to build the zero-shot classifier).
        features: ``(task, split) -> SplitFeatures`` (``.embedding``, ``.labels``, ``.side``): the
            suite runner's cached :func:`bench.features.extract` with the run's settings bound.
        tasks: Task names; default ``imagenet`` and the 7 shifts. ImageNet's val features are
            needed in any case (the class-subsampled accuracies).
        adapt: Also score with the ImageNet linear probe ("adapt to ImageNet").
        probe: A fitted ImageNet :class:`bench.probe.LinearProbe` to reuse; fitted here if None.
        data_root: The run's data root (``--data-root``), for the video datasets' pm-k frame sets.
        device: Where to fit the probe (default CUDA when available).
        progress: Show progress bars.

    Returns:
        One :class:`ShiftOutcome` per task and head, zero-shot first.

    Raises:
        UnknownNameError: for an unknown task name.
        BenchError: for a task that is not ImageNet or one of its shifts.
    """
    from bench.tasks import get_task

    names = list(tasks) if tasks is not None else [IMAGENET, *SHIFTS]
    bad = [n for n in names if n != IMAGENET and n not in SHIFTS]
    if bad:
        raise BenchError(
            f"task(s) {', '.join(bad)} are not in the robustness suite; valid choices: "
            f"{', '.join([IMAGENET, *SHIFTS])}"
        )
    imagenet = get_task(IMAGENET)
    task_objs = [get_task(n) for n in names]
    # ImageNet's official val images are its test split (its val split is carved from train).
    inputs = _Inputs(features, features(imagenet, "test"), data_root)
    head = zero_shot_head(model, imagenet)
    outcomes = _evaluate_head("zero-shot", head, task_objs, inputs, progress)
    if adapt:
        probe = probe if probe is not None else fit_imagenet_probe(features, imagenet, device)
        head = probe_head(probe, imagenet.num_classes)
        outcomes += _evaluate_head("adapt-imagenet", head, task_objs, inputs, progress)
    return outcomes
