"""Decoding and encoding a split in order: the loader, and chunks of both feature kinds.

On a GPU: autocast (bf16/fp16), pinned host memory, DataLoader workers, ``channels_last``
inputs, the copy of the next batch on a side stream while this one is encoded, and outputs
kept on the device until a chunk is complete (no per-batch synchronisation), so the GPU does
not wait on the loader. With ``--decode gpu`` the workers only read the encoded files and the
device decodes and preprocesses them (:mod:`bench.models.decode`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from bench.errors import BenchError, CorruptImageError
from bench.features.cache import KINDS, item_paths
from bench.models.decode import decode_kept, pil_to_uint8
from bench.settings import precision_dtype

#: Batches between chunk files (the most work a killed run loses).
DEFAULT_CHUNK_BATCHES = 20


@dataclass(frozen=True)
class Encoded:
    """An item for the tensor path (``--decode gpu``): its encoded file, or (for an item that
    is no plain file) its image as ``uint8 [3, H, W]``, and its name for error messages."""

    data: bytes | torch.Tensor
    name: str


def _payload(dataset: Any, index: int, name: str) -> Encoded:
    read = getattr(dataset, "encoded", None)
    data = read(index) if read is not None else None
    if data is None:
        data = pil_to_uint8(dataset[index][0])
    return Encoded(data, name)


class _Indexed(Dataset):
    """Yields ``(index, input, label)`` for positions ``[start, stop)``, or
    ``(index, None, (path, reason))`` for an image that does not decode: the error crosses the
    worker boundary as data and is raised (or counted) in the main process with its one-line
    message intact. The input is the transformed image, or an :class:`Encoded` item."""

    def __init__(
        self,
        dataset: Any,
        transform: Callable[[Any], torch.Tensor] | None,
        start: int,
        stop: int | None = None,
        encoded: bool = False,
    ) -> None:
        self.dataset, self.transform, self.start = dataset, transform, start
        self.stop = len(dataset) if stop is None else stop
        self.encoded = encoded
        # read once here, not per item (a view's .labels is computed on access)
        self.labels = dataset.labels if encoded else None
        self.names = item_paths(dataset) if encoded else None

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __getitem__(self, i: int) -> tuple[int, Any, Any]:
        index = self.start + i
        try:
            if self.encoded:
                name = self.names[index] if self.names is not None else f"item {index}"
                return index, _payload(self.dataset, index, name), self.labels[index]
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
        if isinstance(good[0][1], Encoded):
            batch["payloads"] = [it[1].data for it in good]
            batch["names"] = [it[1].name for it in good]
        else:
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
    stop: int | None = None,
    batch_size: int,
    workers: int,
    device: torch.device,
    encoded: bool = False,
) -> DataLoader:
    """A loader over ``dataset[start:stop]`` in order, pinned and prefetching on CUDA.

    With ``encoded`` the workers read each item's encoded file (:class:`Encoded`) and
    ``transform`` is not used: :func:`encode_chunks` decodes them on the device.
    """
    cuda = device.type == "cuda"
    return DataLoader(
        _Indexed(dataset, transform, start, stop, encoded),
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=_collate,
        pin_memory=cuda and not encoded,
        prefetch_factor=4 if workers > 0 else None,
        persistent_workers=False,
    )


def _staged(batches: Iterable[dict[str, Any]], device: torch.device) -> Iterator[tuple]:
    """``(batch, images on the device)``; on CUDA the copy of batch n + 1 (pinned memory, a
    side stream) overlaps the encoding of batch n."""
    if device.type != "cuda":
        for batch in batches:
            images = batch.get("images")
            yield batch, None if images is None else images.to(device)
        return
    copy, compute = torch.cuda.Stream(device), torch.cuda.current_stream(device)
    staged = None
    for batch in batches:
        with torch.cuda.stream(copy):
            images = batch["images"].to(device, non_blocking=True) if "images" in batch else None
            ready = torch.cuda.Event()
            ready.record(copy)
        if staged is not None:
            yield _ready(compute, *staged)
        staged = (batch, images, ready)
    if staged is not None:
        yield _ready(compute, *staged)


def _ready(compute: Any, batch: dict, images: torch.Tensor | None, event: Any) -> tuple:
    compute.wait_event(event)
    if images is not None:
        images.record_stream(compute)  # the allocator must not reuse it before compute is done
    return batch, images


def _inputs(
    batch: dict[str, Any], images: torch.Tensor | None, device: torch.device, resolution: int
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, list]:
    """``(images, indices, labels, bad)`` of a batch, decoding payloads on the device."""
    indices, labels, bad = batch.get("indices"), batch.get("labels"), list(batch["bad"])
    if "payloads" in batch:
        images, kept, failures = decode_kept(batch["payloads"], batch["names"], resolution, device)
        bad += [(int(indices[i]), (name, reason)) for i, name, reason in failures]
        if failures:
            keep = torch.tensor(kept, dtype=torch.int64)
            indices, labels = indices[keep], labels[keep]
    return images, indices, labels, bad


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
    resolution: int = 0,
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
        resolution: The model's input resolution, for an ``encoded`` loader's tensor path.

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
        for n, (batch, staged) in enumerate(_staged(loader, device), 1):
            images, indices, labels, bad = _inputs(batch, staged, device, resolution)
            for _, (path, reason) in bad:
                if not skip_corrupt:
                    raise CorruptImageError(path, reason)
                pending["skipped_files"].append(path)
            if images is not None:
                if channels_last:
                    images = images.contiguous(memory_format=torch.channels_last)
                with autocast:
                    embedding, probe = model.image_features(images)
                pending["embedding"].append(embedding.float())
                pending["probe"].append(probe.float())
                pending["labels"].append(labels)
                pending["indices"].append(indices)
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
