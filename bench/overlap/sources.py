"""The images compared: a training set as ``bench train`` reads it (or a folder), a task's test split.

Training data comes through :func:`bench.train.data.open_pairs` (CSV/TSV, parquet/arrow/json
or a ``save_to_disk`` folder, WebDataset shards), read for its images only; a folder with no
dataset markers and no shards is read as a plain folder of images (recursively).
:func:`encode` runs a detector over either in data-loader batches and yields embeddings with
the pixel hash of every image.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from bench.errors import BenchError, CorruptImageError, DataMissingError
from bench.overlap.search import pixel_hash
from bench.train.data import IMAGE_EXTS, CorruptSample, CsvPairs, decode_image, open_pairs

_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
_SHARDS = (".tar", ".tar.gz", ".tgz")


class TrainImages:
    """Random access to the training images: ``len``, ``name(i)`` and ``load(i)``.

    ``load`` raises :class:`~bench.train.data.CorruptSample` for an image that cannot be read.
    """

    def __init__(self, spec: str, source: Any = None, files: list[Path] | None = None) -> None:
        self.spec, self.source, self.files = spec, source, files

    def __len__(self) -> int:
        return len(self.files) if self.files is not None else len(self.source)

    def name(self, i: int) -> str:
        if self.files is not None:
            return str(self.files[i])
        if isinstance(self.source, CsvPairs):
            rel = self.source.rows[i][0]
            return rel if os.path.isabs(rel) else str(self.source.path.parent / rel)
        items = getattr(self.source, "items", None)  # WebDataset shards: shard:key
        if items is not None:
            s, _, _, key = items[i]
            return f"{self.source.shards[s]}:{key}"
        return f"{self.spec}[{i}]"

    def load(self, i: int) -> Image.Image:
        if self.files is not None or isinstance(self.source, CsvPairs):
            return decode_image(self.name(i), self.name(i))  # no caption needed here
        return self.source.read(i)[0]


def _is_image_folder(path: Path) -> bool:
    if not path.is_dir() or any((path / m).exists() for m in _MARKERS):
        return False
    return not any(p.name.endswith(_SHARDS) for p in path.iterdir())


def open_train_images(
    spec: str, image_key: str = "filepath", caption_key: str = "caption"
) -> TrainImages:
    """Opens ``--train``: a pairs file/folder as ``bench train`` reads it, or a folder of images.

    Raises:
        DataMissingError: the path does not exist.
        BenchError: it holds no images (the message says what was looked for).
    """
    from bench.train.config import TrainConfig

    path = Path(spec).expanduser()
    if _is_image_folder(path):
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix.lower().lstrip(".") in IMAGE_EXTS
        )
        if not files:
            raise BenchError(
                f"--train {spec}: the folder holds no images (looked for "
                f"*.{{{','.join(IMAGE_EXTS)}}} in it and below); point --train at images or a pairs file"
            )
        return TrainImages(spec, files=files)
    if not path.exists() and not any(c in spec for c in "*?[{"):
        raise DataMissingError(
            f"--train {spec}: no such file or folder; give a CSV/TSV/parquet of image paths and "
            "captions (as `bench train` reads), tar shards, or a folder of images"
        )
    config = TrainConfig(data=spec, image_key=image_key, caption_key=caption_key)
    return TrainImages(spec, source=open_pairs(config))


@dataclass
class Batch:
    """Embeddings of ``indices`` (rows of ``embeddings``), their pixel hashes, and unreadable items."""

    indices: list[int]
    embeddings: torch.Tensor
    hashes: list[str]
    bad: list[tuple[int, str]]


class _Prepared(Dataset):
    def __init__(self, load: Callable[[int], Image.Image], prepare: Callable, n: int) -> None:
        self.load, self.prepare, self.n = load, prepare, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[int, Any, str]:
        try:
            image = self.load(i)
        except (CorruptSample, CorruptImageError) as e:
            return i, None, str(e)
        return i, self.prepare(image), pixel_hash(image)


def _collate(items: list[tuple[int, Any, str]]) -> list[tuple[int, Any, str]]:
    return items


def encode(
    load: Callable[[int], Image.Image],
    n: int,
    detector: Any,
    *,
    batch_size: int = 256,
    workers: int = 0,
) -> Iterator[Batch]:
    """Runs ``detector`` over items ``0 .. n-1`` in order, one :class:`Batch` per loader batch."""
    loader = DataLoader(
        _Prepared(load, detector.prepare, n),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=_collate,
    )
    for items in loader:
        good = [it for it in items if it[1] is not None]
        emb = detector.embed(torch.stack([it[1] for it in good])) if good else None
        yield Batch(
            indices=[it[0] for it in good],
            embeddings=emb if emb is not None else torch.empty(0, 0),
            hashes=[it[2] for it in good],
            bad=[(it[0], it[2]) for it in items if it[1] is None],
        )


def open_test(task: Any, data_root: Path | None) -> tuple[Any, Callable[[int], Image.Image]]:
    """A task's test split and ``index -> PIL image`` (labels are read from ``.labels``)."""
    dataset = task.dataset("test", root=data_root)
    return dataset, _ImageOf(dataset)


class _ImageOf:
    """``i -> dataset[i][0]`` (a class, so that it pickles into spawned workers)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __call__(self, i: int) -> Image.Image:
        return self.dataset[i][0]


def test_item_name(task: Any, dataset: Any, i: int) -> str:
    """A test item's file, or ``<task>:test[i]`` for sets stored as arrays."""
    paths = getattr(dataset, "paths", None)
    return str(paths[i]) if paths is not None and paths[i] is not None else f"{task.name}:test[{i}]"
