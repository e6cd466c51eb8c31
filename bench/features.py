"""Image features, extracted once and cached on disk.

A cached feature file is trusted only if everything that changes its values matches: the
weights' sha256, the task's name, version and config hash, the split (and fold), the
preprocessing, the precision, and this module's :data:`FEATURE_FORMAT_VERSION`. These form
the key; the file name holds a digest of it and the file itself holds the full key, which
is compared on every load (features of other weights are never reused).

Extraction writes a chunk file every ``chunk_batches`` batches under
``<cache>/features/<key>.partial/``; a killed run leaves only chunks, which the next run
resumes from. The final ``<key>.safetensors`` is written atomically once all chunks are in,
so it is never partial. A small ``<key>.json`` beside it says what it holds.

On a GPU: autocast (bf16/fp16), pinned host memory, DataLoader workers, ``channels_last``,
non-blocking copies, and outputs kept on the device until a chunk is saved (no per-batch
synchronisation), so the GPU does not wait on the loader when the data is preprocessed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from bench.errors import BenchError, CorruptImageError
from bench.io import atomic_path, atomic_write_json, cache_dir
from bench.models.seam import EvalModel
from bench.settings import Settings

FEATURE_FORMAT_VERSION = 2  # 2: embedding and the paper's probe features, one file

#: Counters that tests and logs read: ``cache_hits``, ``cache_misses``, ``extracted_images``,
#: ``resumed_images``, ``chunks_written``, ``rejected_cache_files``.
STATS: Counter[str] = Counter()


@dataclass
class SplitFeatures:
    """Features of one split, both kinds from one pass of the image tower.

    Attributes:
        embedding: ``[N, embed_dim]`` float32 image embeddings, unnormalised (zero-shot).
        probe: ``[N, probe_dim]`` float32 probe features (the paper's: ViT class token
            before the projection, ResNet attention-pool output), for linear probes.
        labels: ``[N]`` int64 class indices, or ``[N, C]`` multi-hot for multi-label tasks.
        side: Per-item side data that metrics need (e.g. ``difficult``, ``pmk_sets``).
        skipped: Corrupt images skipped (``skip_corrupt``); they are not in the tensors.
        skipped_files: Their paths.
        n_found: Items found in the split.
        n_expected: Items the task file expects (``None`` where it does not say).
        partial: Whether fewer items than expected were evaluated (``--allow-partial``).
        key: The cache key (``None`` when not cached).
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
    key: str | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def feature_key(
    *,
    weights_sha256: str,
    task: Any,
    split: str,
    fold: int | None,
    preprocess: str,
    precision: str,
    probe_kind: str,
) -> tuple[str, dict[str, Any]]:
    """The cache key of one split's features: ``(file stem, full key dict)``."""
    spec = {
        "format": FEATURE_FORMAT_VERSION,
        "weights_sha256": weights_sha256,
        "task": task.name,
        "task_version": task.version,
        "task_config_hash": task.config_hash,
        "split": split,
        "fold": fold,
        "preprocess": preprocess,
        "precision": precision,
        "features": {"embedding": "embedding", "probe": probe_kind},
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]
    fold_part = "" if fold is None else f"-fold{fold}"
    return f"{task.name}-{split}{fold_part}-{digest}", spec


class FeatureCache:
    """Final feature files and resumable chunks under ``<root>`` (default ``<cache>/features``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else cache_dir() / "features"

    def final_path(self, key: str) -> Path:
        return self.root / f"{key}.safetensors"

    def partial_dir(self, key: str) -> Path:
        return self.root / f"{key}.partial"

    def load(self, key: str, spec: dict[str, Any]) -> SplitFeatures | None:
        """The cached features for ``key`` if the file's stored key equals ``spec``."""
        path = self.final_path(key)
        if not path.exists():
            return None
        tensors, meta = _read(path)
        if tensors is None or meta.get("spec") != spec:
            STATS["rejected_cache_files"] += 1
            return None
        return SplitFeatures(
            tensors["embedding"],
            tensors["probe"],
            tensors["labels"],
            skipped=len(meta.get("skipped_files", [])),
            skipped_files=list(meta.get("skipped_files", [])),
            n_found=int(tensors["labels"].shape[0]),
            key=key,
        )

    def save(self, key: str, spec: dict[str, Any], fs: SplitFeatures) -> None:
        """Writes the final file atomically, then its JSON description; drops the chunks."""
        meta = {"spec": spec, "skipped_files": fs.skipped_files, "n": len(fs)}
        tensors = {k: getattr(fs, k).contiguous() for k in _TENSORS}
        _write(self.final_path(key), tensors, meta)
        dims = {"embedding_dim": int(fs.embedding.shape[1]), "probe_dim": int(fs.probe.shape[1])}
        info = {**meta, **dims, "created": time.time()}
        atomic_write_json(self.root / f"{key}.json", info)
        shutil.rmtree(self.partial_dir(key), ignore_errors=True)

    def load_chunks(self, key: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """The saved chunks of an unfinished extraction that cover ``[0, end)`` without gaps."""
        chunks = []
        for path in sorted(self.partial_dir(key).glob("chunk-*.safetensors")):
            tensors, meta = _read(path)
            if tensors is not None and meta.get("spec") == spec:
                chunks.append({**tensors, **meta})
        chunks.sort(key=lambda c: c["start"])
        contiguous, end = [], 0
        for c in chunks:
            if c["start"] != end:
                break
            contiguous.append(c)
            end = c["end"]
        return contiguous

    def save_chunk(self, key: str, spec: dict[str, Any], chunk: dict[str, Any]) -> None:
        tensors = {k: chunk[k].contiguous() for k in (*_TENSORS, "indices")}
        meta = {"spec": spec, "start": chunk["start"], "end": chunk["end"]}
        meta["skipped_files"] = chunk["skipped_files"]
        _write(self.partial_dir(key) / f"chunk-{chunk['start']:09d}.safetensors", tensors, meta)
        STATS["chunks_written"] += 1


_TENSORS = ("embedding", "probe", "labels")


def _write(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"bench": json.dumps(meta)})


def _read(path: Path) -> tuple[dict[str, torch.Tensor] | None, dict[str, Any]]:
    """A safetensors file's tensors and metadata; ``(None, {})`` if it is unreadable."""
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("bench", "{}"))
        return load_file(str(path)), meta
    except Exception:  # noqa: BLE001 - any unreadable cache file is ignored and redone
        STATS["rejected_cache_files"] += 1
        return None, {}


class _Indexed(Dataset):
    """Yields ``(index, image tensor, label)``, or ``(index, None, (path, reason))`` for an
    image that does not decode: the error crosses the worker boundary as data and is
    raised (or counted) in the main process with its one-line message intact."""

    def __init__(self, dataset: Any, transform: Callable[[Any], torch.Tensor], start: int):
        self.dataset, self.transform, self.start = dataset, transform, start

    def __len__(self) -> int:
        return len(self.dataset) - self.start

    def __getitem__(self, i: int) -> tuple[int, Any, Any]:
        index = self.start + i
        try:
            image, label = self.dataset[index]
        except CorruptImageError as e:
            return index, None, (e.path, e.reason)
        image = self.transform(image) if self.transform is not None else image
        return index, image, label


def _collate(items: list[tuple[int, Any, Any]]) -> dict[str, Any]:
    good = [it for it in items if it[1] is not None]
    bad = [(it[0], it[2]) for it in items if it[1] is None]
    batch: dict[str, Any] = {"bad": bad, "end": max(it[0] for it in items) + 1}
    if good:
        labels = [it[2] for it in good]
        batch["indices"] = torch.tensor([it[0] for it in good], dtype=torch.int64)
        batch["images"] = torch.stack([it[1] for it in good])
        batch["labels"] = (
            torch.stack([torch.as_tensor(x) for x in labels])
            if isinstance(labels[0], torch.Tensor)
            else torch.tensor(labels, dtype=torch.int64)
        )
    return batch


def make_loader(
    dataset: Any,
    transform: Callable[[Any], torch.Tensor] | None,
    *,
    start: int = 0,
    batch_size: int,
    workers: int,
    device: torch.device,
) -> DataLoader:
    """A loader over ``dataset[start:]`` in order, pinned and prefetching on CUDA."""
    cuda = device.type == "cuda"
    return DataLoader(
        _Indexed(dataset, transform, start),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_collate,
        pin_memory=cuda,
        prefetch_factor=4 if workers > 0 else None,
        persistent_workers=False,
    )


#: Batches between chunk files (the most work a killed run loses).
DEFAULT_CHUNK_BATCHES = 20


def extract(
    model: EvalModel,
    task: Any,
    split: str,
    settings: Settings,
    *,
    fold: int | None = None,
    cache: bool = True,
) -> SplitFeatures:
    """Image features of one split of a task, from the cache or extracted (and cached).

    Args:
        model: The model seam (``preprocess``, ``image_features``), on ``settings.device``.
        task: A :class:`bench.tasks.Task`.
        split: ``train``, ``val`` or ``test``.
        settings: The run's device, precision, batch size, workers, data root, skip-corrupt
            and progress.
        fold: The fold for tasks with ``probe_folds > 1`` (stl10).
        cache: Read and write the feature cache (and resume from its chunks).

    Returns:
        The split's :class:`SplitFeatures` (embedding and probe features).

    Raises:
        CorruptImageError: an image does not decode and ``skip_corrupt`` is off.
        DataMissingError: the task's data is not on disk.
    """
    key, spec = feature_key(
        weights_sha256=model.weights_sha256,
        task=task,
        split=split,
        fold=fold,
        preprocess=model.preprocess_id,
        precision=settings.precision,
        probe_kind=model.probe_kind,
    )
    store = FeatureCache()
    if cache and not settings.refresh_features and (hit := store.load(key, spec)) is not None:
        if hit.skipped and not settings.skip_corrupt:
            raise CorruptImageError(
                hit.skipped_files[0], "skipped by an earlier --skip-corrupt run"
            )
        STATS["cache_hits"] += 1
        return _with_expected(hit, task, split)
    STATS["cache_misses"] += 1
    dataset = task.dataset(split, root=settings.data_root, fold=fold)
    desc = f"{task.name}/{split}" + ("" if fold is None else f"/fold{fold}")
    chunks = _run_chunks(
        model, dataset, store if cache else None, key, spec, desc=desc, settings=settings
    )
    fs = concat_chunks(chunks, key=key if cache else None)
    if cache:
        store.save(key, spec, fs)
    return _with_expected(fs, task, split)


def _with_expected(fs: SplitFeatures, task: Any, split: str) -> SplitFeatures:
    fs.n_found = len(fs) + fs.skipped
    fs.n_expected = task.expected_sizes().get(split)
    return fs


def _run_chunks(
    model: EvalModel,
    dataset: Any,
    store: FeatureCache | None,
    key: str,
    spec: dict[str, Any],
    *,
    desc: str,
    settings: Settings,
) -> list[dict[str, Any]]:
    """The chunks of a whole split: those saved by an earlier run, then the rest, each
    saved as it completes when ``store`` is given."""
    chunks = store.load_chunks(key, spec) if store is not None else []
    skipped_before = [f for c in chunks for f in c["skipped_files"]]
    if skipped_before and not settings.skip_corrupt:
        raise CorruptImageError(skipped_before[0], "skipped by an earlier --skip-corrupt run")
    start = chunks[-1]["end"] if chunks else 0
    STATS["resumed_images"] += start
    loader = make_loader(
        dataset, model.preprocess, start=start, batch_size=settings.batch_size,
        workers=settings.workers, device=settings.device,
    )  # fmt: skip
    total, off = len(dataset), not settings.progress
    with tqdm(total=total, initial=start, desc=desc, unit="img", disable=off) as bar:
        for chunk in encode_chunks(
            model, loader, start=start, settings=settings, on_batch=bar.update
        ):
            STATS["extracted_images"] += chunk["end"] - chunk["start"]
            if store is not None:
                store.save_chunk(key, spec, chunk)
            chunks.append(chunk)
    return chunks


def encode_chunks(
    model: EvalModel,
    loader: DataLoader,
    *,
    start: int,
    settings: Settings,
    chunk_batches: int | None = None,
    on_batch: Callable[[int], Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Encodes a :func:`make_loader` loader, yielding a chunk every ``chunk_batches`` batches.

    A chunk is ``{"embedding", "probe" (CPU float32), "labels", "indices", "start", "end",
    "skipped_files"}`` covering dataset positions ``[start, end)``. Outputs stay on the
    device until a chunk is complete, so the loop never waits for the GPU per batch.
    """
    chunk_batches = chunk_batches or DEFAULT_CHUNK_BATCHES
    device, precision = settings.device, settings.precision
    autocast = torch.autocast(device.type, dtype=settings.dtype, enabled=precision != "fp32")
    pending: dict[str, Any] = _empty_chunk(start)
    with torch.inference_mode():
        for n, batch in enumerate(loader, 1):
            for _, (path, reason) in batch["bad"]:
                if not settings.skip_corrupt:
                    raise CorruptImageError(path, reason)
                pending["skipped_files"].append(path)
            if "images" in batch:
                images = batch["images"].to(device, non_blocking=True)
                with autocast:
                    embedding, probe = model.image_features(images)
                pending["embedding"].append(embedding.float())
                pending["probe"].append(probe.float())
                pending["labels"].append(batch["labels"])
                pending["indices"].append(batch["indices"])
            pending["end"] = batch["end"]
            if on_batch is not None:
                on_batch(len(batch["bad"]) + len(batch.get("indices", ())))
            if n % chunk_batches == 0:
                yield _finish_chunk(pending)
                pending = _empty_chunk(pending["end"])
    if pending["end"] > pending["start"]:
        yield _finish_chunk(pending)


def _empty_chunk(start: int) -> dict[str, Any]:
    chunk: dict[str, Any] = {k: [] for k in (*_TENSORS, "indices")}
    return {**chunk, "start": start, "end": start, "skipped_files": []}


def _finish_chunk(pending: dict[str, Any]) -> dict[str, Any]:
    chunk = dict(pending)
    if pending["labels"]:
        for k in (*_TENSORS, "indices"):
            chunk[k] = torch.cat(pending[k]).cpu()
    else:  # every image of the chunk was corrupt and skipped
        chunk["embedding"], chunk["probe"] = torch.empty(0, 0), torch.empty(0, 0)
        chunk["labels"] = torch.empty(0, dtype=torch.int64)
        chunk["indices"] = torch.empty(0, dtype=torch.int64)
    return chunk


def concat_chunks(chunks: list[dict[str, Any]], key: str | None = None) -> SplitFeatures:
    """Joins chunks (in order) into one :class:`SplitFeatures`."""
    full = [c for c in chunks if c["labels"].numel()]
    skipped = [p for c in chunks for p in c["skipped_files"]]
    if not full:
        raise BenchError(f"no image could be decoded ({len(skipped)} skipped as corrupt)")
    embedding, probe, labels = (torch.cat([c[k] for c in full]) for k in _TENSORS)
    return SplitFeatures(
        embedding, probe, labels, skipped=len(skipped), skipped_files=skipped, key=key
    )
