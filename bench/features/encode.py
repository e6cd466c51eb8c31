"""Decoding and encoding a split in order: the loader, and chunks of both feature kinds.

On a GPU: autocast (bf16/fp16), pinned host memory, DataLoader workers, ``channels_last``
inputs, non-blocking copies, and outputs kept on the device until a chunk is complete (no
per-batch synchronisation), so the GPU does not wait on the loader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from bench.errors import BenchError, CorruptImageError
from bench.features.cache import KINDS
from bench.settings import precision_dtype

#: Batches between chunk files (the most work a killed run loses).
DEFAULT_CHUNK_BATCHES = 20


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


def encode_chunks(
    model: Any,
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

    Args:
        model: A :class:`bench.models.seam.EvalModel` (its ``image_features``: one pass gives
            both the embedding and the probe features).
        loader: From :func:`make_loader`.
        start: The dataset position the loader starts at.
        device, precision: Where and at which autocast precision to encode.
        skip_corrupt: Count undecodable images instead of raising.
        chunk_batches: Batches per chunk (default :data:`DEFAULT_CHUNK_BATCHES`).
        on_batch: Called with the number of items of each batch (progress bars).

    Yields:
        ``{"embedding", "probe" (CPU float32), "labels", "indices", "start", "end",
        "skipped_files"}`` covering dataset positions ``[start, end)``.
    """
    chunk_batches = chunk_batches or DEFAULT_CHUNK_BATCHES
    dtype = precision_dtype(precision)
    autocast = torch.autocast(device.type, dtype=dtype, enabled=precision != "fp32")
    channels_last = device.type == "cuda"
    pending: dict[str, Any] = _empty_chunk(start)
    with torch.inference_mode():
        for n, batch in enumerate(loader, 1):
            for _, (path, reason) in batch["bad"]:
                if not skip_corrupt:
                    raise CorruptImageError(path, reason)
                pending["skipped_files"].append(path)
            if "images" in batch:
                images = batch["images"].to(device, non_blocking=True)
                if channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
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
    empty: dict[str, Any] = {k: [] for k in (*KINDS, "labels", "indices")}
    return {**empty, "start": start, "end": start, "skipped_files": []}


def _finish_chunk(pending: dict[str, Any]) -> dict[str, Any]:
    chunk = dict(pending)
    if pending["labels"]:
        for k in (*KINDS, "labels", "indices"):
            chunk[k] = torch.cat(pending[k]).cpu()
    else:  # every image of the chunk was corrupt and skipped
        for k in KINDS:
            chunk[k] = torch.empty(0, 0)
        chunk["labels"] = torch.empty(0, dtype=torch.int64)
        chunk["indices"] = torch.empty(0, dtype=torch.int64)
    return chunk


def concat_chunks(chunks: list[dict[str, Any]]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Joins chunks (in order): ``({kind: [N, D], "labels", "indices"}, skipped files)``.

    Raises:
        BenchError: if no image of the split could be decoded.
    """
    full = [c for c in chunks if c["labels"].numel()]
    skipped = [p for c in chunks for p in c["skipped_files"]]
    if not full:
        raise BenchError(f"no image could be decoded ({len(skipped)} skipped as corrupt)")
    keys = (*KINDS, "labels", "indices")
    return {k: torch.cat([c[k] for c in full]) for k in keys}, skipped
