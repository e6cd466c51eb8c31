"""One split's features: from the verified cache, or extracted (resumably) and cached.

Per split, in order: the dataset is opened (no image decoded), its size is compared with the
task file's, its files are fingerprinted for the cache key, the features come from the cache
or from the model, and they are checked to be finite. The metric's side data (e.g. VOC's
``difficult`` flags) is read from the dataset and aligned with the features' rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from bench.distributed import World
from bench.errors import BenchError, CorruptImageError, IncompleteDataError
from bench.features import encode
from bench.features.cache import STATS, FeatureCache, feature_key, files_fingerprint
from bench.finite import check_finite
from bench.models import decode
from bench.settings import Settings


@dataclass
class SplitFeatures:
    """Features of one split.

    Attributes:
        embedding: ``[N, embed_dim]`` float32 joint-space image embeddings (zero-shot).
        probe: ``[N, probe_dim]`` float32 probe features (``EvalModel.image_features()[1]``).
        labels: ``[N]`` int64 class indices, or ``[N, C]`` multi-hot for multi-label tasks.
        side: Per-item side data the task's metric needs (``Metric.needs``) and the dataset
            names (``side_fields``), aligned with rows.
        skipped: Corrupt images skipped (``skip_corrupt``); they have no row.
        skipped_files: Their paths.
        n_found: Items the split has on disk.
        n_expected: Items the task file expects (``None``: unknown).
        partial: ``n_found != n_expected``, evaluated because ``allow_partial`` was set.
        key: The cache key.
    """

    embedding: torch.Tensor
    probe: torch.Tensor
    labels: torch.Tensor
    side: dict[str, Any] = field(default_factory=dict)
    skipped: int = 0
    skipped_files: list[str] = field(default_factory=list)
    n_found: int = 0
    n_expected: int | None = None
    partial: bool = False
    key: str = ""

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, idx: Sequence[int] | np.ndarray | torch.Tensor) -> SplitFeatures:
        """The rows ``idx`` (side data of per-row tensors follows; other side data is dropped)."""
        t = torch.as_tensor(np.asarray(idx), dtype=torch.long)
        side = {k: v[t] for k, v in self.side.items() if _per_row(v, len(self))}
        return SplitFeatures(
            self.embedding[t], self.probe[t], self.labels[t], side, self.skipped,
            list(self.skipped_files), self.n_found, self.n_expected, self.partial, self.key,
        )  # fmt: skip


def _per_row(value: Any, n: int) -> bool:
    return isinstance(value, torch.Tensor | np.ndarray) and len(value) == n


def check_size(task: Any, split: str, n_found: int, allow_partial: bool) -> int | None:
    """The expected size of ``split``; raises on a mismatch unless ``allow_partial``.

    Raises:
        IncompleteDataError: naming the expected and found counts and the fix.
    """
    expected = task.expected_sizes().get(split)
    if expected is not None and n_found != expected and not allow_partial:
        raise IncompleteDataError(
            f"task {task.name!r} split {split!r}: found {n_found} items, the task file expects "
            f"{expected}; the data is incomplete: fetch it again (`bench download {task.name}` "
            "or its manual steps), or pass --allow-partial to evaluate what is there, marked "
            "partial"
        )
    return expected


def side_data(task: Any, dataset: Any, kept: torch.Tensor) -> dict[str, Any]:
    """The per-item data the task's metric needs, read from the dataset's attributes, and the
    attributes the dataset itself names in ``side_fields`` (FairFace's race, gender and age).

    Per-item tensors are restricted to ``kept`` (rows of skipped corrupt images go).

    Raises:
        BenchError: side data that is not per item cannot be aligned with skipped images.
    """
    from bench.metrics import get_metric

    side: dict[str, Any] = {}
    complete = len(kept) == len(dataset)
    names = dict.fromkeys([*get_metric(task.metric).needs, *getattr(dataset, "side_fields", ())])
    for name in names:
        if not hasattr(dataset, name):
            continue
        value = getattr(dataset, name)
        if complete:
            side[name] = value
        elif _per_row(value, len(dataset)):
            side[name] = value[kept.numpy() if isinstance(value, np.ndarray) else kept]
        else:
            raise BenchError(
                f"task {task.name!r}: {task.metric!r} scoring needs {name!r} for every item, "
                "which cannot be matched to a split with skipped corrupt images; repair the "
                "files named by --skip-corrupt and run without it"
            )
    return side


@dataclass(frozen=True)
class Pipeline:
    """How images reach the model: OpenAI's PIL transform in the loader workers, or
    (``--decode gpu``) encoded files decoded and preprocessed as tensors on the device."""

    transform: Callable[[Any], torch.Tensor] | None
    preprocess_id: str
    encoded: bool = False
    resolution: int = 0


def input_pipeline(model: Any, settings: Settings) -> Pipeline:
    """The run's :class:`Pipeline` for ``model``.

    Raises:
        BenchError: ``--decode gpu`` for a model whose preprocessing is not OpenAI's (the
            tensor path reproduces only that one).
    """
    if settings.decode == "cpu":
        return Pipeline(model.preprocess, model.preprocess_id)
    resolution = decode.openai_resolution(model.preprocess_id)
    if resolution is None:
        raise BenchError(
            f"--decode gpu reproduces OpenAI's preprocessing only, and model {model.name!r} "
            f"preprocesses as {model.preprocess_id!r}; run it with --decode cpu"
        )
    pid = decode.preprocess_id(resolution, settings.device.type)
    return Pipeline(None, pid, encoded=True, resolution=resolution)


def _open(model: Any, task: Any, split: str, settings: Settings, fold: int | None) -> tuple:
    """``(dataset, expected size, cache key, key spec, pipeline)`` of one split."""
    dataset = task.dataset(split, root=settings.data_root, fold=fold)
    n_expected = check_size(task, split, len(dataset), settings.allow_partial)
    pipe = input_pipeline(model, settings)
    key, spec = feature_key(
        weights_sha256=model.weights_sha256, task=task, split=split, fold=fold,
        preprocess=pipe.preprocess_id, precision=settings.precision,
        files=files_fingerprint(dataset), probe_kind=model.probe_kind,
    )  # fmt: skip
    return dataset, n_expected, key, spec, pipe


def _desc(task: Any, split: str, fold: int | None) -> str:
    return f"{task.name}/{split}" + ("" if fold is None else f"/fold{fold}")


def extract(
    model: Any,
    task: Any,
    split: str,
    settings: Settings,
    *,
    fold: int | None = None,
    prefetched: bool = False,
) -> SplitFeatures:
    """Image features of one split of a task, from the cache or extracted (and cached).

    Args:
        model: A :class:`bench.models.seam.EvalModel`.
        task: A :class:`bench.tasks.Task`.
        split: ``train``, ``val`` or ``test``.
        settings: The run's settings (device, precision, batch size, workers, data root,
            skip_corrupt, force / refresh_features, allow_partial, progress, decode).
        fold: The fold for tasks with ``probe_folds > 1`` (stl10).
        prefetched: The chunks were just written by this run's ranks
            (:func:`extract_shard`): use them even with ``force`` / ``refresh_features``.

    Returns:
        The split's :class:`SplitFeatures` (embedding and probe features, labels, side data).

    Raises:
        IncompleteDataError: the split's size differs from the task file's (no allow_partial).
        CorruptImageError: an image does not decode and ``skip_corrupt`` is off.
        NonFiniteError: a feature value is NaN or Inf.
        DataMissingError: the task's data is not on disk.
    """
    dataset, n_expected, key, spec, pipe = _open(model, task, split, settings, fold)
    store = FeatureCache()
    fresh = settings.force or settings.refresh_features
    found = None if fresh else store.load(key, spec)
    if found is not None:
        tensors, skipped = found[0], list(found[1].get("skipped_files", []))
        if skipped and not settings.skip_corrupt:
            raise CorruptImageError(skipped[0], "skipped by an earlier --skip-corrupt run")
        STATS["cache_hits"] += 1
    else:
        STATS["cache_misses"] += 1
        chunks = _run_chunks(
            model, dataset, store, key, spec, settings, pipe,
            desc=_desc(task, split, fold), reuse=prefetched or not fresh,
        )  # fmt: skip
        tensors, skipped = encode.concat_chunks(chunks)
    where = {"model": model.name, "task": task.name, "split": split}
    check_finite(tensors["embedding"], what="image embedding", **where)
    check_finite(tensors["probe"], what="probe feature", **where)
    if found is None:
        store.save(key, spec, tensors, skipped, _extracted_by(chunks))
    return SplitFeatures(
        tensors["embedding"], tensors["probe"], tensors["labels"],
        side_data(task, dataset, tensors["indices"]), len(skipped), skipped,
        len(dataset), n_expected, n_expected is not None and len(dataset) != n_expected, key,
    )  # fmt: skip


def _extracted_by(chunks: list[dict[str, Any]]) -> dict[int, int]:
    by: Counter[int] = Counter()
    for c in chunks:
        by[int(c.get("rank", 0))] += int(c["end"] - c["start"])
    return dict(by)


def _gaps(chunks: list[dict[str, Any]], n: int) -> list[tuple[int, int]]:
    """The positions of ``[0, n)`` that no chunk covers (chunks sorted, not overlapping)."""
    gaps, at = [], 0
    for c in chunks:
        if c["start"] > at:
            gaps.append((at, c["start"]))
        at = max(at, c["end"])
    if at < n:
        gaps.append((at, n))
    return gaps


def _run_chunks(
    model: Any,
    dataset: Any,
    store: FeatureCache,
    key: str,
    spec: dict[str, Any],
    settings: Settings,
    pipe: Pipeline,
    *,
    desc: str,
    reuse: bool,
) -> list[dict[str, Any]]:
    """The chunks of a whole split: those saved by an earlier run or by other ranks (when
    ``reuse``), then the gaps between them, each chunk saved as it completes."""
    chunks = store.load_chunks(key, spec) if reuse else []
    skipped_before = [f for c in chunks for f in c["skipped_files"]]
    if skipped_before and not settings.skip_corrupt:
        raise CorruptImageError(skipped_before[0], "skipped by an earlier --skip-corrupt run")
    covered = sum(c["end"] - c["start"] for c in chunks)
    STATS["resumed_images"] += covered
    gaps = _gaps(chunks, len(dataset))
    if gaps:
        bar = tqdm(total=len(dataset), initial=covered, desc=desc, unit="img",
                   disable=not settings.progress)  # fmt: skip
        with bar:
            for start, stop in gaps:
                for chunk in _extract_range(
                    model, dataset, settings, pipe, start, stop, bar.update
                ):
                    store.save_chunk(key, spec, chunk)
                    chunks.append(chunk)
    return sorted(chunks, key=lambda c: c["start"])


def _extract_range(
    model: Any,
    dataset: Any,
    settings: Settings,
    pipe: Pipeline,
    start: int,
    stop: int,
    on_batch: Callable[[int], Any] | None,
    rank: int = 0,
) -> Iterator[dict[str, Any]]:
    """The chunks of dataset positions ``[start, stop)``, extracted by this process."""
    if model.device != settings.device:
        model.to(settings.device)
    loader = encode.make_loader(
        dataset, pipe.transform, start=start, stop=stop, batch_size=settings.batch_size,
        workers=settings.workers, device=settings.device, encoded=pipe.encoded,
    )  # fmt: skip
    for chunk in encode.encode_chunks(
        model, loader, start=start, device=settings.device, precision=settings.precision,
        skip_corrupt=settings.skip_corrupt, on_batch=on_batch, resolution=pipe.resolution,
    ):  # fmt: skip
        STATS["extracted_images"] += chunk["end"] - chunk["start"]
        chunk["rank"] = rank
        yield chunk


def shard_ranges(n: int, chunk_items: int, world: World) -> list[tuple[int, int]]:
    """This rank's chunks of ``[0, n)``: chunk ``j`` is ``[j * chunk_items, ...)``, and rank
    ``r`` takes every ``world.size``-th chunk from ``r`` on, so every chunk (and every batch
    in it) is the one a single process would encode."""
    starts = world.shard(range(0, n, chunk_items))
    return [(a, min(a + chunk_items, n)) for a in starts]


def extract_shard(
    model: Any, task: Any, split: str, settings: Settings, world: World, *, fold: int | None = None
) -> int:
    """Extracts this rank's share of a split into the feature cache's chunks.

    Every rank of a distributed run calls this for each split the run needs; after a barrier,
    rank 0's :func:`extract` (``prefetched=True``) finds the split complete in chunks. A chunk
    already in the cache (a rerun after a rank died) is not extracted again, unless ``force``
    or ``refresh_features``. A split whose final file exists is skipped.

    Returns:
        The images this rank extracted.

    Raises:
        BenchError: as :func:`extract` (missing data, an incomplete split, a corrupt image).
    """
    dataset, _, key, spec, pipe = _open(model, task, split, settings, fold)
    store = FeatureCache()
    fresh = settings.force or settings.refresh_features
    if not fresh and store.final_path(key).exists():
        return 0
    size = settings.batch_size * encode.DEFAULT_CHUNK_BATCHES
    todo = [
        r for r in shard_ranges(len(dataset), size, world)
        if fresh or not store.has_chunk(key, spec, *r)
    ]  # fmt: skip
    done = 0
    bar = tqdm(total=sum(b - a for a, b in todo), desc=f"{_desc(task, split, fold)} (rank "
               f"{world.rank})", unit="img", disable=not settings.progress or not todo)  # fmt: skip
    with bar:
        for start, stop in todo:
            for chunk in _extract_range(
                model, dataset, settings, pipe, start, stop, bar.update, world.rank
            ):
                store.save_chunk(key, spec, chunk)
                done += chunk["end"] - chunk["start"]
    return done
