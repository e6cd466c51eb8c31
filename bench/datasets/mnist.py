"""MNIST from the original IDX files.

On disk (torchvision's layout): ``MNIST/raw/{train,t10k}-images-idx3-ubyte`` and
``...-labels-idx1-ubyte`` (big-endian IDX: magic 2051/2049, counts, then uint8 data); the
``.gz`` files are read as well. Train 60,000 / test 10,000; no official validation split.
"""

from __future__ import annotations

import gzip
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets._common import (
    LazyDataset,
    array_image,
    check_fold,
    check_split,
    missing,
)
from bench.datasets._download import download_resources, resources
from bench.errors import DataMissingError

SPLITS = ("train", "test")
OFFICIAL_VAL = False
PREFIX = {"train": "train", "test": "t10k"}


def read_idx(path: Path) -> np.ndarray:
    """Reads an IDX file (``.gz`` or raw) of unsigned bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim not in (1, 3):
        raise DataMissingError(
            f"{path} is not an IDX uint8 file (magic {magic:#x}); download again"
        )
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataMissingError(f"{path} is truncated ({body.size} of {np.prod(shape)} bytes)")
    return body.reshape(shape)


def _find(task: Any, raw: Path, stem: str) -> Path:
    for candidate in (raw / stem, raw / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    raise missing(task, raw / stem)


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """MNIST ``split`` as grey digits converted to RGB."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    raw = Path(root) / "MNIST" / "raw"
    images = read_idx(_find(task, raw, f"{PREFIX[split]}-images-idx3-ubyte"))
    labels = read_idx(_find(task, raw, f"{PREFIX[split]}-labels-idx1-ubyte"))
    if len(images) != len(labels):
        raise DataMissingError(f"MNIST {split}: {len(images)} images but {len(labels)} labels")
    return LazyDataset(labels.tolist(), partial(array_image, images))


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    raw = Path(root) / "MNIST" / "raw"
    return all(
        (raw / f"{p}-{k}").exists() or (raw / f"{p}-{k}.gz").exists()
        for p in PREFIX.values()
        for k in ("images-idx3-ubyte", "labels-idx1-ubyte")
    )


def download(task: Any, root: str | Path, **_: Any) -> None:
    download_resources(Path(root) / "MNIST" / "raw", resources(task))
