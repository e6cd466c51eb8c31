"""The paper's per-task metrics, by the names that task files use, all in percent (0-100).

- ``accuracy``: top-1 accuracy (most tasks).
- ``mean_per_class_accuracy``: mean over the classes present in ``labels`` of per-class top-1
  recall (FGVC Aircraft, Oxford-IIIT Pets, Caltech-101, Flowers-102).
- ``map_11point``: PASCAL VOC 2007 11-point interpolated AP, averaged over classes
  (VOC 2007, multi-label).
- ``roc_auc``: area under the ROC curve of the positive class's score (Hateful Memes, binary);
  ``[n, 2]`` scores rank by the softmax probability of class 1.
- ``mean_top1_top5``: (top-1 + top-5) / 2 (Kinetics-700).
- ``pm0_pm10``: pm-0, the accuracy on anchor frames (``which="pm10"``: pm-10)
  (ImageNet-Vid, YouTube-BB).

``score(metric, scores, labels, side)`` is what suites call: the headline number and its parts,
with top-1 (and top-5, with more than 5 classes) for single-label tasks. A metric declares the
per-item side data it needs (:attr:`Metric.needs`); the dataset provides each as an attribute
of the same name and :class:`bench.features.SplitFeatures` carries it in ``side``:
``difficult`` (VOC 2007: ``[n, n_classes]`` bool, entries the devkit ignores), ``anchors``,
``pmk_sets`` and ``pmk_available`` (the video tasks' pm-k frame sets).
``compute(metric, scores, labels, **kw)`` returns the headline number; ``compute_details``
returns it with the metric's own parts (pm-0 and pm-10, ...).

- ``retrieval_recall``: zero-shot image-text retrieval (paper Table 13): ``scores`` are the
  ``[n_images, n_texts]`` similarities, ``labels`` the image index of each text; the value is
  the mean of text retrieval R@1 (image queries) and image retrieval R@1 (text queries), with
  ``text_retrieval_R@{1,5,10}`` and ``image_retrieval_R@{1,5,10}`` as parts.

Each metric declares its confidence interval (:attr:`Metric.interval`, the one place that
says it): ``clopper-pearson`` for a binomial proportion (accuracy, pm-0: ``n`` trials, ``k``
right), ``bootstrap`` (seeded, over items) for the others; :func:`interval` computes it.

A NaN score is never right: a sample with a NaN among its scores counts as wrong in every
accuracy-type metric, and ranks last if positive, first if negative, in the ranking metrics. ``scores`` is ``[n, n_classes]``
(logits or probabilities: only their order matters); ``labels`` are class indices (``-1`` or any
index outside the scores' columns counts as wrong), a multi-hot ``[n, n_classes]`` matrix for
``map_11point``, or per-sample sets of valid classes for ``pm0_pm10``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from bench import intervals
from bench.errors import BenchError
from bench.intervals import Interval
from bench.registry import Registry

#: The bootstrap's resamples and seed for every result's interval.
RESAMPLES, SEED = 1000, 0

#: The interval kinds a metric can declare.
INTERVAL_KINDS = ("clopper-pearson", "bootstrap")


@dataclass(frozen=True)
class Metric:
    """A registered metric: ``details`` returns the headline value under ``name`` and parts.

    Attributes:
        name: The name task files use.
        description: One line.
        details: ``details(scores, labels, **side) -> {name: value, part: value, ...}``.
        needs: Per-item side data it reads (dataset attributes of these names), if present.
        labels: The label kind it scores: ``class`` (``[n]`` indices), ``multi_hot``
            (``[n, C]``), ``binary`` (``[n]`` 0/1), ``frames`` (per-frame valid classes) or
            ``retrieval`` (``[n_texts]`` image index of each text).
        interval: Its confidence interval: ``clopper-pearson`` (a binomial proportion) or
            ``bootstrap`` (seeded, over items).
        trials: Binomial metrics whose trials are not the rows: ``trials(labels, side) -> n``.
        statistic: Bootstrap metrics: ``statistic(scores, labels, side) -> (n_items,
            stat(indices) -> value)``, a fast form of the metric on resampled items (default:
            the metric recomputed on the resampled rows); NaN where a resample leaves it
            undefined (such resamples are left out and the count used is recorded).
    """

    name: str
    description: str
    details: Callable[..., dict[str, float]]
    needs: tuple[str, ...] = ()
    labels: str = "class"
    interval: str = "clopper-pearson"
    trials: Callable[..., int] | None = None
    statistic: Callable[..., tuple[int, Callable[[np.ndarray], float]]] | None = None


@dataclass(frozen=True)
class Score:
    """A metric's value on some scores (percent), with its named parts.

    ``parts`` holds the metric's own parts and, for single-label tasks, ``top1`` (and
    ``top5`` with more than 5 classes, where it is not trivially 100).
    """

    value: float
    parts: dict[str, float]


METRICS: Registry[Metric] = Registry(
    "metric", "python -c 'import bench.metrics as m; print(m.names())'"
)


def _register(name: str, description: str, **options: Any) -> Callable:
    if options.get("interval", INTERVAL_KINDS[0]) not in INTERVAL_KINDS:
        raise ValueError(f"metric {name}: interval must be one of {INTERVAL_KINDS}")

    def wrap(fn: Callable[..., dict[str, float]]) -> Callable[..., dict[str, float]]:
        METRICS.register(name, Metric(name, description, fn, **options))
        return fn

    return wrap


def names() -> list[str]:
    """The registered metric names."""
    return METRICS.names()


def get_metric(name: str) -> Metric:
    """The metric registered as ``name``.

    Raises:
        UnknownNameError: naming the close matches.
    """
    return METRICS.get(name)


def score(metric: str, scores: Any, labels: Any, side: Mapping[str, Any] | None = None) -> Score:
    """A task's metric on some scores, with its parts and top-1/top-5 where they apply.

    Args:
        metric: A registered name.
        scores: ``[n, n_classes]`` scores (numpy or torch); ``[n]`` for ``roc_auc``.
        labels: As the metric's label kind.
        side: Per-item side data; the entries named in the metric's ``needs`` are passed on.

    Raises:
        UnknownNameError: for an unknown metric name.
        BenchError: for scores and labels of the wrong shape.
    """
    m = get_metric(metric)
    s, y = _np(scores), _np(labels) if m.labels != "frames" else labels
    given = {k: v for k, v in (side or {}).items() if k in m.needs}
    parts = {k: float(v) for k, v in m.details(s, y, **given).items()}
    value = parts[m.name]
    if m.labels in ("class", "binary") and s.ndim == 2 and _np(y).ndim == 1:
        parts["top1"] = float(topk_accuracy(s, y, 1))
        if s.shape[1] > 5:
            parts["top5"] = float(topk_accuracy(s, y, 5))
    return Score(value, parts)


def compute(metric: str, scores: Any, labels: Any, **kw: Any) -> float:
    """The headline value of ``metric`` in percent.

    Args:
        metric: A registered name (see the module docstring).
        scores: ``[n, n_classes]`` scores (numpy, torch or nested lists).
        labels: As the metric expects (see the module docstring).
        **kw: Metric options (``pmsets`` and ``which`` for ``pm0_pm10``).

    Raises:
        UnknownNameError: for an unknown metric name.
        BenchError: for scores and labels of the wrong shape.
    """
    m = get_metric(metric)
    return m.details(scores, labels, **kw)[m.name]


def compute_details(metric: str, scores: Any, labels: Any, **kw: Any) -> dict[str, float]:
    """Like :func:`compute`, with the metric's parts (e.g. ``top1``, ``top5``, ``pm0``)."""
    return dict(get_metric(metric).details(scores, labels, **kw))


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu()
        x = (x.float() if x.is_floating_point() else x).numpy()
    return np.asarray(x)


def nan_rows(scores: np.ndarray) -> np.ndarray:
    """Per sample, whether any of its scores is NaN (such a sample is never right)."""
    s = np.asarray(scores)
    if not np.issubdtype(s.dtype, np.floating):
        return np.zeros(len(s), dtype=bool)
    nan = np.isnan(s)
    return nan.any(axis=tuple(range(1, s.ndim))) if s.ndim > 1 else nan


def _scores_labels(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    s, y = _np(scores), _np(labels)
    if s.ndim != 2:
        raise BenchError(f"scores must be [n_samples, n_classes]; got shape {s.shape}")
    if y.ndim != 1 or len(y) != len(s):
        raise BenchError(
            f"labels must be [n_samples] class indices matching scores {s.shape}; "
            f"got shape {y.shape}"
        )
    if len(s) == 0:
        raise BenchError("no samples to score: scores and labels are empty")
    return s, y.astype(np.int64)


def topk_accuracy(scores: Any, labels: Any, k: int) -> float:
    """Percent of samples whose label is among the ``k`` highest scores.

    Ties at the k-th score are broken by column order (lower index first), as a stable sort.

    Args:
        scores: ``[n, n_classes]``.
        labels: ``[n]`` class indices.
        k: Positive number of top classes; ``k >= n_classes`` gives 100.

    Raises:
        BenchError: on bad shapes or ``k < 1``.
    """
    s, y = _scores_labels(scores, labels)
    if k < 1:
        raise BenchError(f"k must be a positive integer; got {k!r}")
    return float(100.0 * (label_ranks(s, y) < k).sum() / len(y))


def label_ranks(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sample, the 0-based rank of its label's score (ties: earlier columns first);
    ``inf`` for a label outside the columns or a row with a NaN (never right)."""
    ranks = np.full(len(y), np.inf)
    valid = (y >= 0) & (y < s.shape[1])
    rows = np.flatnonzero(valid)
    own = s[rows, y[valid]][:, None]
    # rank of the label's score: higher scores, plus equal scores in earlier columns
    earlier = np.arange(s.shape[1])[None, :] < y[valid][:, None]
    rank = (s[rows] > own).sum(1) + ((s[rows] == own) & earlier).sum(1)
    ranks[rows] = np.where(nan_rows(s[rows]), np.inf, rank)  # NaN compares false: rank 0
    return ranks


@_register("accuracy", "top-1 accuracy")
def _accuracy(scores: Any, labels: Any) -> dict[str, float]:
    top1 = topk_accuracy(scores, labels, 1)
    return {"accuracy": top1, "top1": top1}


def _per_class_statistic(scores: Any, labels: Any, side: Mapping[str, Any]) -> tuple:
    s, y = _scores_labels(scores, labels)
    correct = ((np.argmax(s, axis=1) == y) & ~nan_rows(s)).astype(np.float64)
    y = y - min(int(y.min()), 0)  # bincount needs non-negative classes

    def stat(idx: np.ndarray) -> float:
        sums, counts = np.bincount(y[idx], correct[idx]), np.bincount(y[idx])
        present = counts > 0
        return float(100.0 * np.mean(sums[present] / counts[present]))

    return len(y), stat


@_register(
    "mean_per_class_accuracy",
    "mean over classes of per-class top-1 recall",
    interval="bootstrap",
    statistic=_per_class_statistic,
)
def _mean_per_class(scores: Any, labels: Any) -> dict[str, float]:
    s, y = _scores_labels(scores, labels)
    correct = (np.argmax(s, axis=1) == y) & ~nan_rows(s)
    per_class = [correct[y == c].mean() for c in np.unique(y)]
    return {"mean_per_class_accuracy": float(100.0 * np.mean(per_class))}


def _top1_top5_statistic(scores: Any, labels: Any, side: Mapping[str, Any]) -> tuple:
    s, y = _scores_labels(scores, labels)
    ranks = label_ranks(s, y)
    per_item = 50.0 * ((ranks < 1).astype(np.float64) + (ranks < 5))
    return len(y), lambda idx: float(per_item[idx].mean())


@_register(
    "mean_top1_top5",
    "mean of top-1 and top-5 accuracy",
    interval="bootstrap",
    statistic=_top1_top5_statistic,
)
def _mean_top1_top5(scores: Any, labels: Any) -> dict[str, float]:
    top1, top5 = topk_accuracy(scores, labels, 1), topk_accuracy(scores, labels, 5)
    return {"mean_top1_top5": (top1 + top5) / 2, "top1": top1, "top5": top5}


def average_precision_11point(scores: np.ndarray, positive: np.ndarray) -> float:
    """PASCAL VOC 2007 11-point interpolated average precision of one class, in [0, 1].

    Ranks samples by descending score (stable), and averages over t = 0, 0.1, ..., 1 the
    maximum precision at recall >= t (0 where recall never reaches t), as the VOC 2007 devkit.
    A NaN score is ranked as wrongly as possible: first if negative, last if positive.
    """
    nan = np.isnan(scores)
    finite = np.flatnonzero(~nan)
    order = np.concatenate([
        np.flatnonzero(nan & ~positive),
        finite[np.argsort(-scores[finite], kind="stable")],
        np.flatnonzero(nan & positive),
    ]).astype(np.int64)  # fmt: skip
    tp = np.cumsum(positive[order])
    precision = tp / np.arange(1, len(tp) + 1)
    recall = tp / positive.sum()
    ap = 0.0
    for t in np.arange(11) * 0.1:  # the devkit's 0:0.1:1, same floating-point thresholds
        reached = recall >= t
        ap += (precision[reached].max() if reached.any() else 0.0) / 11
    return float(ap)


@_register(
    "map_11point",
    "VOC 2007 11-point mAP over classes (multi-hot labels)",
    needs=("difficult",),
    labels="multi_hot",
    interval="bootstrap",
)
def _map_11point(
    scores: Any, labels: Any, difficult: Any = None, mask: Any = None
) -> dict[str, float]:
    """``difficult`` (bool ``[n, n_classes]``): entries the VOC devkit ignores for that class
    (an image whose only objects of the class are difficult is neither a positive nor a
    negative: ``VOCevalcls`` gives it ``gt = 0``, counted in neither tp nor fp).
    ``mask`` (bool ``[n, n_classes]``): False excludes an entry likewise. Classes with no
    positive sample are skipped."""
    s, y = _np(scores).astype(np.float64), _np(labels)
    if s.ndim != 2 or y.shape != s.shape:
        raise BenchError(
            f"map_11point needs scores and multi-hot labels of the same [n, n_classes] shape; "
            f"got {s.shape} and {y.shape}"
        )
    keep = np.ones(s.shape, bool) if mask is None else _np(mask).astype(bool)
    if difficult is not None:
        ignored = _np(difficult).astype(bool)
        if ignored.shape != s.shape:
            raise BenchError(f"difficult flags {ignored.shape} do not match scores {s.shape}")
        keep &= ~ignored
    aps = [
        average_precision_11point(s[keep[:, c], c], y[keep[:, c], c] > 0)
        for c in range(s.shape[1])
        if (y[keep[:, c], c] > 0).any()
    ]
    if not aps:
        raise BenchError("map_11point: no class has a positive sample; check the labels")
    return {"map_11point": float(100.0 * np.mean(aps))}


def _roc_auc_statistic(scores: Any, labels: Any, side: Mapping[str, Any]) -> tuple:
    s, y = _np(scores), _np(labels)

    def stat(idx: np.ndarray) -> float:  # undefined (NaN) on a resample of one class only
        return _roc_auc(s[idx], y[idx])["roc_auc"] if len(set(y[idx].tolist())) == 2 else np.nan

    return len(y), stat


@_register(
    "roc_auc",
    "ROC AUC of the positive class's score (binary)",
    labels="binary",
    interval="bootstrap",
    statistic=_roc_auc_statistic,
)
def _roc_auc(scores: Any, labels: Any) -> dict[str, float]:
    """``scores``: ``[n]`` positive-class scores, or ``[n, 2]`` logits or probabilities, ranked
    by column 1 minus column 0 (monotone in the softmax probability of class 1 for both)."""
    s, y = _np(scores).astype(np.float64), _np(labels)
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1] - s[:, 0]
    if s.ndim != 1 or y.shape != s.shape or not np.isin(y, (0, 1)).all():
        raise BenchError(
            f"roc_auc needs [n] or [n, 2] scores and [n] 0/1 labels; got scores {s.shape}, "
            f"labels {y.shape} with values {np.unique(y)[:5].tolist()}"
        )
    n_pos, n_neg = int(y.sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        raise BenchError("roc_auc needs both classes in the labels; got only one")
    # a NaN score ranks as wrongly as possible: lowest if positive, highest if negative
    s = np.where(np.isnan(s), np.where(y == 1, -np.inf, np.inf), s)
    ranks = rankdata(s)  # average ranks for ties: the Mann-Whitney U statistic
    auc = (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return {"roc_auc": float(100.0 * auc)}


def valid_class_correct(scores: Any, valid: Any) -> np.ndarray:
    """Per sample, whether the top-1 class is one of its valid classes.

    Args:
        scores: ``[n, n_classes]``.
        valid: ``[n]`` class indices, a multi-hot ``[n, n_classes]`` matrix, or a sequence of
            ``n`` collections of valid class indices (ImageNet-Vid frames may have several).

    Returns:
        Bool array ``[n]``.
    """
    s = _np(scores)
    pred = np.argmax(s, axis=1)
    if len(valid) != len(pred):
        raise BenchError(f"{len(valid)} label entries for {len(pred)} scored samples")
    return _valid_correct(pred, valid) & ~nan_rows(s)


def _valid_correct(pred: np.ndarray, valid: Any) -> np.ndarray:
    arr = (
        valid if isinstance(valid, np.ndarray) else _np(valid) if hasattr(valid, "detach") else None
    )
    if arr is not None and arr.ndim == 2:
        return arr[np.arange(len(pred)), pred] > 0
    if arr is not None and arr.ndim == 1 and arr.dtype != object:
        return pred == arr
    sets = [set(np.atleast_1d(v).tolist()) for v in valid]
    return np.array([int(p) in v for p, v in zip(pred, sets, strict=True)], dtype=bool)


def pm_k(
    correct: Any, pmsets: Mapping[int, Collection[int]] | Sequence[tuple[int, Collection[int]]]
) -> dict[str, float]:
    """pm-0 and pm-k (Shankar et al. 2019) from per-frame correctness, in percent.

    Args:
        correct: Bool ``[n_frames]``.
        pmsets: For each anchor frame index, the indices of its neighbour frames (within k
            frames; ±10 for pm-10), as a mapping or ``(anchor, neighbours)`` pairs.

    Returns:
        ``{"pm0": accuracy on anchors, "pm10": percent of anchors that are correct together
        with all their neighbours}``.
    """
    c = _np(correct).astype(bool)
    items = list(pmsets.items() if isinstance(pmsets, Mapping) else pmsets)
    if not items:
        raise BenchError("pm-k needs at least one anchor frame; pmsets is empty")
    anchors = np.array([c[int(a)] for a, _ in items])
    whole = np.array([c[int(a)] and bool(np.all(c[np.asarray(n, int)])) for a, n in items])
    return {"pm0": float(100.0 * anchors.mean()), "pm10": float(100.0 * whole.mean())}


def pmsets_from(anchors: Any, pmk_sets: Any) -> dict[int, list[int]]:
    """``pmsets`` from a video dataset's ``anchors`` and ``pmk_sets``: every anchor, with no
    neighbours where none were reviewed (so pm-0 is always the accuracy on all anchors)."""
    neighbours = dict(pmk_sets or {})
    listed = list(anchors) if anchors is not None else list(neighbours)
    return {int(a): list(neighbours.get(a, [])) for a in listed}


@_register(
    "pm0_pm10",
    "pm-0 on anchor frames (details: pm-0 and pm-10)",
    needs=("anchors", "pmk_sets", "pmk_available"),
    labels="frames",
    trials=lambda labels, side: len(pmsets_from(side.get("anchors"), side.get("pmk_sets"))),
)
def _pm0_pm10(
    scores: Any,
    labels: Any,
    anchors: Any = None,
    pmk_sets: Any = None,
    pmk_available: bool = True,
    pmsets: Any = None,
    which: str = "pm0",
) -> dict[str, float]:
    """Side data ``anchors``/``pmk_sets`` (or ``pmsets=`` directly); without neighbour
    annotations (``pmk_available`` False, YouTube-BB) pm-10 is not reported."""
    if pmsets is None and anchors is None and not pmk_sets:
        raise BenchError(
            "pm0_pm10 needs the dataset's anchor frames (its anchors / pmk_sets attributes)"
        )
    if which not in ("pm0", "pm10"):
        raise BenchError(f"which must be 'pm0' or 'pm10'; got {which!r}")
    sets = pmsets if pmsets is not None else pmsets_from(anchors, pmk_sets)
    out = pm_k(valid_class_correct(scores, labels), sets)
    result = {"pm0_pm10": out[which], **out}
    if not pmk_available:
        result.pop("pm10")
    return result


RECALL_KS = (1, 5, 10)


def retrieval_ranks(sim: Any, text_image: Any, chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The rank of the first correct item for every query of both retrieval directions.

    Args:
        sim: ``[n_images, n_texts]`` similarities (higher is closer).
        text_image: ``[n_texts]``, the image index of each text (every caption counts).
        chunk: Rows compared at a time (memory).

    Returns:
        ``(text_ranks [n_images], image_ranks [n_texts])``, 0-based: for an image query, the
        number of other images' texts scoring at least as high as its best caption; for a text
        query, the number of other images scoring at least as high as its own (ties count
        against the query). A query is a hit at k when its rank is below k.

    Raises:
        BenchError: shapes that do not match, or an image without a text.
    """
    s, owner = _np(sim).astype(np.float32), _np(text_image).astype(np.int64)
    if s.ndim != 2 or owner.shape != (s.shape[1],):
        raise BenchError(
            f"retrieval needs [n_images, n_texts] similarities and [n_texts] image indices; "
            f"got {s.shape} and {owner.shape}"
        )
    if owner.min(initial=0) < 0 or np.bincount(owner, minlength=len(s)).min(initial=1) < 1:
        raise BenchError("retrieval: every image needs at least one text and indices in range")
    own = np.zeros(s.shape, dtype=bool)
    own[owner, np.arange(len(owner))] = True
    nan = np.isnan(s)  # a NaN is never right: lowest where correct, highest where wrong
    s = np.where(nan, np.where(own, -np.inf, np.inf), s).astype(np.float32) if nan.any() else s
    text_ranks = np.empty(len(s), dtype=np.int64)
    for i in range(0, len(s), chunk):
        rows, mine = s[i : i + chunk], own[i : i + chunk]
        best = np.where(mine, rows, -np.inf).max(1, keepdims=True)
        text_ranks[i : i + chunk] = ((rows >= best) & ~mine).sum(1)
    mine_score = s[owner, np.arange(len(owner))]
    image_ranks = np.empty(len(owner), dtype=np.int64)
    for j in range(0, len(owner), chunk):
        cols = s[:, j : j + chunk]
        image_ranks[j : j + chunk] = (cols >= mine_score[None, j : j + chunk]).sum(0) - 1
    return text_ranks, image_ranks


def _recalls(text_ranks: np.ndarray, image_hits: Callable[[int], float]) -> dict[str, float]:
    out = {}
    for k in RECALL_KS:
        out[f"text_retrieval_R@{k}"] = float(100.0 * (text_ranks < k).mean())
        out[f"image_retrieval_R@{k}"] = image_hits(k)
    out["retrieval_recall"] = (out["text_retrieval_R@1"] + out["image_retrieval_R@1"]) / 2
    return out


def _retrieval_statistic(scores: Any, labels: Any, side: Mapping[str, Any]) -> tuple:
    """Bootstrap over images, each with its captions (the gallery stays whole)."""
    text_ranks, image_ranks = retrieval_ranks(scores, labels)
    owner = _np(labels).astype(np.int64)
    n = len(text_ranks)
    hits1 = np.bincount(owner, (image_ranks < 1).astype(np.float64), minlength=n)
    captions = np.bincount(owner, minlength=n).astype(np.float64)

    def stat(idx: np.ndarray) -> float:
        image_r1 = 100.0 * hits1[idx].sum() / captions[idx].sum()
        return float((100.0 * (text_ranks[idx] < 1).mean() + image_r1) / 2)

    return n, stat


@_register(
    "retrieval_recall",
    "mean of text and image retrieval R@1 (parts: R@1, R@5, R@10 both ways)",
    labels="retrieval",
    interval="bootstrap",
    statistic=_retrieval_statistic,
)
def _retrieval_recall(scores: Any, labels: Any) -> dict[str, float]:
    text_ranks, image_ranks = retrieval_ranks(scores, labels)
    return _recalls(text_ranks, lambda k: float(100.0 * (image_ranks < k).mean()))


def _row_subset(side: Mapping[str, Any], idx: np.ndarray, n: int) -> dict[str, Any]:
    return {k: _np(v)[idx] for k, v in side.items() if hasattr(v, "__len__") and len(v) == n}


def _recomputed(m: Metric, folds: list[np.ndarray], y: Any, side: Mapping[str, Any]) -> tuple:
    """The metric (averaged over folds' scores of the same items) on resampled rows."""
    n = len(y)

    def stat(idx: np.ndarray) -> float:
        sub = _row_subset(side, idx, n)
        try:
            return float(np.mean([m.details(s[idx], y[idx], **sub)[m.name] for s in folds]))
        except BenchError:  # undefined on this resample (e.g. one class only)
            return np.nan

    return n, stat


def interval(
    metric: str,
    scores: Any,
    labels: Any,
    side: Mapping[str, Any] | None = None,
    *,
    value: float | None = None,
    level: float = intervals.DEFAULT_LEVEL,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[int, Interval]:
    """The confidence interval the metric declares, and its ``n``.

    Args:
        metric: A registered name.
        scores: As :func:`score`; or a list of such arrays for the same items (STL-10's folds),
            whose mean is then bootstrapped.
        labels: As the metric's label kind.
        side: Per-item side data (the metric's ``needs``).
        value: The headline value (computed if not given).
        level, resamples, seed: The interval's coverage and the bootstrap's settings.

    Returns:
        ``(n, interval)``: binomial trials or bootstrap items (retrieval: images), and the
        interval in percent.
    """
    m = get_metric(metric)
    y = _np(labels) if m.labels != "frames" else labels
    given = {k: v for k, v in (side or {}).items() if k in m.needs}
    folds = [_np(s) for s in scores] if isinstance(scores, list) else [_np(scores)]
    if m.interval == "clopper-pearson" and len(folds) == 1:
        n = m.trials(y, given) if m.trials is not None else len(y)
        v = value if value is not None else m.details(folds[0], y, **given)[m.name]
        k = round(v * n / 100)
        if abs(100 * k / n - v) > 1e-6:
            raise ValueError(f"{metric} value {v} is not a proportion of {n} trials")
        return n, Interval(level, *intervals.clopper_pearson(k, n, level), "clopper-pearson")
    if m.statistic is not None and len(folds) == 1:
        n, stat = m.statistic(folds[0], y, given)
    else:
        n, stat = _recomputed(m, folds, y, given)
    items = np.arange(n)  # resampled "rows" are the item indices the statistic takes
    low, high, used = intervals.bootstrap_interval(
        lambda idx, _: stat(idx), items, items, level=level, resamples=resamples, seed=seed
    )
    return n, Interval(level, low, high, "bootstrap", used)
