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

FEATURE_FORMAT_VERSION = 1
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

#: Counters that tests and logs read: ``cache_hits``, ``cache_misses``, ``extracted_images``,
#: ``resumed_images``, ``chunks_written``, ``rejected_cache_files``.
STATS: Counter[str] = Counter()


@dataclass
class FeatureSet:
    """Features of one split.

    Attributes:
        features: ``[N, D]`` float32 image embeddings, unnormalised (as ``encode_image``).
        labels: ``[N]`` int64 class indices, or ``[N, C]`` multi-hot for multi-label tasks.
        skipped: Corrupt images skipped (``skip_corrupt``); they are not in ``features``.
        skipped_files: Their paths.
        key: The cache key (``None`` when not cached).
    """

    features: torch.Tensor
    labels: torch.Tensor
    skipped: int = 0
    skipped_files: list[str] = field(default_factory=list)
    key: str | None = None

    def __len__(self) -> int:
        return int(self.features.shape[0])


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA if available else CPU; checks that a requested device exists.

    Raises:
        BenchError: for an unknown device string or CUDA requested without a GPU.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BenchError(
            f"unknown device {device!r}; use cpu, cuda, cuda:N or mps (e.g. --device cuda:0)"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BenchError(
            f"device {device!r} asked for, but CUDA is not available; use --device cpu"
        )
    return dev


def resolve_precision(precision: str | None, device: torch.device) -> str:
    """``None`` -> ``fp16`` on CUDA (as OpenAI's GPU models), else ``fp32``.

    Raises:
        BenchError: for a name other than fp32, fp16, bf16.
    """
    if precision is None:
        return "fp16" if device.type == "cuda" else "fp32"
    if precision not in PRECISIONS:
        raise BenchError(f"unknown precision {precision!r}; valid choices: {', '.join(PRECISIONS)}")
    return precision


def weights_id(model: torch.nn.Module) -> str:
    """The model's ``weights_sha256`` (set by ``load_checkpoint``), else the sha256 of its
    state dict's tensors (names, dtypes, shapes and bytes in key order)."""
    sha = getattr(model, "weights_sha256", None)
    if sha:
        return str(sha)
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def feature_key(
    *,
    weights_sha256: str,
    task: Any,
    split: str,
    fold: int | None,
    preprocess: str,
    precision: str,
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

    def load(self, key: str, spec: dict[str, Any]) -> FeatureSet | None:
        """The cached features for ``key`` if the file's stored key equals ``spec``."""
        path = self.final_path(key)
        if not path.exists():
            return None
        tensors, meta = _read(path)
        if tensors is None or meta.get("spec") != spec:
            STATS["rejected_cache_files"] += 1
            return None
        return FeatureSet(
            tensors["features"],
            tensors["labels"],
            skipped=len(meta.get("skipped_files", [])),
            skipped_files=list(meta.get("skipped_files", [])),
            key=key,
        )

    def save(self, key: str, spec: dict[str, Any], fs: FeatureSet) -> None:
        """Writes the final file atomically, then its JSON description; drops the chunks."""
        meta = {"spec": spec, "skipped_files": fs.skipped_files, "n": len(fs)}
        tensors = {"features": fs.features.contiguous(), "labels": fs.labels.contiguous()}
        _write(self.final_path(key), tensors, meta)
        info = {**meta, "dim": int(fs.features.shape[1]), "created": time.time()}
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
        tensors = {k: chunk[k].contiguous() for k in ("features", "labels", "indices")}
        meta = {"spec": spec, "start": chunk["start"], "end": chunk["end"]}
        meta["skipped_files"] = chunk["skipped_files"]
        _write(self.partial_dir(key) / f"chunk-{chunk['start']:09d}.safetensors", tensors, meta)
        STATS["chunks_written"] += 1


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
    model: torch.nn.Module,
    task: Any,
    split: str,
    *,
    fold: int | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 256,
    workers: int = 4,
    precision: str | None = None,
    data_root: str | Path | None = None,
    cache: bool = True,
    skip_corrupt: bool = False,
    weights_sha256: str | None = None,
    progress: bool = True,
) -> FeatureSet:
    """Image features of one split of a task, from the cache or extracted (and cached).

    Args:
        model: A CLIP model (``encode_image``, ``image_resolution``), in eval mode.
        task: A :class:`bench.tasks.Task`.
        split: ``train``, ``val`` or ``test``.
        fold: The fold for tasks with ``probe_folds > 1`` (stl10).
        device: Where to run (default CUDA if available).
        batch_size, workers: DataLoader settings.
        precision: ``fp32``, ``fp16`` or ``bf16`` autocast (default fp16 on CUDA, else fp32).
        data_root: Overrides the data root (``--data-root``).
        cache: Read and write the feature cache (and resume from its chunks).
        skip_corrupt: Skip images that do not decode, counting them, instead of raising.
        weights_sha256: The weights' hash, if known (saves hashing an in-memory model).
        progress: Show a tqdm bar with the task, the split and images/s.

    Returns:
        The split's :class:`FeatureSet`.

    Raises:
        CorruptImageError: an image does not decode and ``skip_corrupt`` is off.
        DataMissingError: the task's data is not on disk.
    """
    from bench.models import image_transform, preprocess_id

    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    resolution = model.image_resolution
    key, spec = feature_key(
        weights_sha256=weights_sha256 or weights_id(model),
        task=task,
        split=split,
        fold=fold,
        preprocess=preprocess_id(resolution),
        precision=prec,
    )
    store = FeatureCache()
    if cache and (hit := store.load(key, spec)) is not None:
        if hit.skipped and not skip_corrupt:
            raise CorruptImageError(
                hit.skipped_files[0], "skipped by an earlier --skip-corrupt run"
            )
        STATS["cache_hits"] += 1
        return hit
    STATS["cache_misses"] += 1
    dataset = task.dataset(split, root=data_root, fold=fold)
    desc = f"{task.name}/{split}" + ("" if fold is None else f"/fold{fold}")
    chunks = _run_chunks(
        model, dataset, image_transform(resolution), store if cache else None, key, spec,
        desc=desc, device=dev, precision=prec, batch_size=batch_size, workers=workers,
        skip_corrupt=skip_corrupt, progress=progress,
    )  # fmt: skip
    fs = concat_chunks(chunks, key=key if cache else None)
    if cache:
        store.save(key, spec, fs)
    return fs


def _run_chunks(
    model: torch.nn.Module,
    dataset: Any,
    transform: Callable[[Any], torch.Tensor],
    store: FeatureCache | None,
    key: str,
    spec: dict[str, Any],
    *,
    desc: str,
    device: torch.device,
    precision: str,
    batch_size: int,
    workers: int,
    skip_corrupt: bool,
    progress: bool,
) -> list[dict[str, Any]]:
    """The chunks of a whole split: those saved by an earlier run, then the rest, each
    saved as it completes when ``store`` is given."""
    chunks = store.load_chunks(key, spec) if store is not None else []
    skipped_before = [f for c in chunks for f in c["skipped_files"]]
    if skipped_before and not skip_corrupt:
        raise CorruptImageError(skipped_before[0], "skipped by an earlier --skip-corrupt run")
    start = chunks[-1]["end"] if chunks else 0
    STATS["resumed_images"] += start
    loader = make_loader(
        dataset, transform, start=start, batch_size=batch_size, workers=workers, device=device
    )
    bar = tqdm(total=len(dataset), initial=start, desc=desc, unit="img", disable=not progress)
    with bar:
        for chunk in encode_chunks(
            model, loader, start=start, device=device, precision=precision,
            skip_corrupt=skip_corrupt, on_batch=bar.update,
        ):  # fmt: skip
            STATS["extracted_images"] += chunk["end"] - chunk["start"]
            if store is not None:
                store.save_chunk(key, spec, chunk)
            chunks.append(chunk)
    return chunks


def encode_chunks(
    model: torch.nn.Module,
    loader: DataLoader,
    *,
    start: int,
    device: torch.device,
    precision: str,
    skip_corrupt: bool = False,
    chunk_batches: int | None = None,
    on_batch: Callable[[int], Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Encodes a :func:`make_loader` loader, yielding a chunk every ``chunk_batches`` batches.

    A chunk is ``{"features" (CPU float32), "labels", "indices", "start", "end",
    "skipped_files"}`` covering dataset positions ``[start, end)``. Outputs stay on the
    device until a chunk is complete, so the loop never waits for the GPU per batch.
    """
    chunk_batches = chunk_batches or DEFAULT_CHUNK_BATCHES
    autocast = torch.autocast(device.type, dtype=PRECISIONS[precision], enabled=precision != "fp32")
    channels_last = device.type == "cuda"
    if channels_last:
        model.to(memory_format=torch.channels_last)
    pending: dict[str, Any] = _empty_chunk(start)
    with torch.inference_mode():
        for n, batch in enumerate(loader, 1):
            for _, (path, reason) in batch["bad"]:
                if not skip_corrupt:
                    raise CorruptImageError(path, reason)
                pending["skipped_files"].append(path)
            if "images" in batch:
                # encode_image casts to the model's dtype on the device
                images = batch["images"].to(device, non_blocking=True)
                if channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                with autocast:
                    out = model.encode_image(images)
                pending["features"].append(out.float())
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
    return {
        "features": [],
        "labels": [],
        "indices": [],
        "start": start,
        "end": start,
        "skipped_files": [],
    }


def _finish_chunk(pending: dict[str, Any]) -> dict[str, Any]:
    chunk = dict(pending)
    if pending["features"]:
        chunk["features"] = torch.cat(pending["features"]).cpu()
        chunk["labels"] = torch.cat(pending["labels"])
        chunk["indices"] = torch.cat(pending["indices"])
    else:  # every image of the chunk was corrupt and skipped
        chunk["features"] = torch.empty(0, 0)
        chunk["labels"] = torch.empty(0, dtype=torch.int64)
        chunk["indices"] = torch.empty(0, dtype=torch.int64)
    return chunk


def concat_chunks(chunks: list[dict[str, Any]], key: str | None = None) -> FeatureSet:
    """Joins chunks (in order) into one :class:`FeatureSet`."""
    full = [c for c in chunks if c["features"].numel()]
    skipped = [p for c in chunks for p in c["skipped_files"]]
    if not full:
        raise BenchError(f"no image could be decoded ({len(skipped)} skipped as corrupt)")
    return FeatureSet(
        torch.cat([c["features"] for c in full]),
        torch.cat([c["labels"] for c in full]),
        skipped=len(skipped),
        skipped_files=skipped,
        key=key,
    )
