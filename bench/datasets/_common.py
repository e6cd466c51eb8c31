"""What every loader shares: the dataset type, image decoding, errors and split helpers.

Loaders build a :class:`LazyDataset` from a list of labels and a function that decodes the
i-th image, so ``.labels`` never decodes an image and every decoding failure becomes a
:class:`~bench.errors.CorruptImageError` that names the file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from bench.errors import BenchError, CorruptImageError, DataMissingError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".gif", ".webp", ".tif", ".tiff")

Label = int | torch.Tensor


class LazyDataset(Dataset):
    """``(PIL.Image RGB, label)`` items decoded on access.

    Args:
        labels: One label per item: ints, or a ``[N, C]`` multi-hot tensor.
        get_image: Decodes item ``i`` (raises :class:`CorruptImageError` on failure).
        paths: Optional name of each item (file path or ``archive:index``), for messages
            and for metrics that key on the file (pm-k sets).

    Attributes:
        labels: As given (``list[int]`` or a tensor), readable without decoding images.
        paths: As given, or ``None``.
    """

    def __init__(
        self,
        labels: Sequence[int] | torch.Tensor,
        get_image: Callable[[int], Image.Image],
        paths: Sequence[str] | None = None,
        *,
        raw_files: bool = False,
    ) -> None:
        self.labels = labels if isinstance(labels, torch.Tensor) else [int(x) for x in labels]
        self._get_image = get_image
        self.paths = list(paths) if paths is not None else None
        if self.paths is not None and len(self.paths) != len(self.labels):
            raise ValueError("paths and labels differ in length")
        if raw_files and self.paths is None:
            raise ValueError("raw_files needs paths")
        self._raw_files = raw_files

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Image.Image, Label]:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._get_image(index), self.labels[index]

    def encoded(self, index: int) -> bytes | None:
        """Item ``index``'s encoded file, where the item is exactly that file decoded.

        ``None`` where the item is built otherwise (arrays, archive members, a crop), so
        callers that decode bytes themselves (``--decode gpu``) take the PIL image instead.

        Raises:
            DataMissingError: the file is not there.
        """
        if not self._raw_files:
            return None
        path = self.paths[index]  # type: ignore[index]
        try:
            return Path(path).read_bytes()
        except FileNotFoundError as e:
            raise DataMissingError(
                f"image file {path} is missing; download the dataset again"
            ) from e

    def subset(self, indices: Sequence[int]) -> LazyDataset:
        """A dataset of the items ``indices`` (in that order)."""
        indices = [int(i) for i in indices]
        if isinstance(self.labels, torch.Tensor):
            labels: Any = self.labels[indices]
        else:
            labels = [self.labels[i] for i in indices]
        paths = [self.paths[i] for i in indices] if self.paths is not None else None
        get = partial(_pick, self._get_image, indices)
        return LazyDataset(labels, get, paths, raw_files=self._raw_files)


def _rgb(image: Image.Image, name: str) -> Image.Image:
    try:
        image.load()
        return image.convert("RGB")
    except (OSError, ValueError, SyntaxError) as e:  # truncated or damaged data
        raise CorruptImageError(name, str(e)) from e


def open_image(path: str | os.PathLike[str]) -> Image.Image:
    """Opens an image file as RGB.

    Raises:
        CorruptImageError: the file cannot be decoded (names the file).
        DataMissingError: the file is not there.
    """
    try:
        image = Image.open(path)
    except FileNotFoundError as e:
        raise DataMissingError(f"image file {path} is missing; download the dataset again") from e
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise CorruptImageError(str(path), str(e)) from e
    return _rgb(image, str(path))


def image_from_bytes(data: bytes, name: str) -> Image.Image:
    """Decodes encoded image bytes (from parquet, a tar member, ...) as RGB."""
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise CorruptImageError(name, str(e)) from e
    return _rgb(image, name)


def image_from_array(array: np.ndarray) -> Image.Image:
    """An RGB image from an ``HxW`` (grey) or ``HxWx3`` uint8 array."""
    return Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).convert("RGB")


def file_dataset(
    files: Sequence[str | os.PathLike[str]],
    labels: Sequence[int] | torch.Tensor,
    transform: Callable[[Image.Image], Image.Image] | None = None,
) -> LazyDataset:
    """A dataset of image files, optionally post-processed (e.g. a border crop)."""
    files = [str(f) for f in files]
    get = partial(_file_image, files, transform)
    return LazyDataset(labels, get, files, raw_files=transform is None)


# Readers are module-level functions bound with functools.partial (not closures), so that a
# dataset pickles: DataLoader workers started with "spawn" or "forkserver" receive a copy.


def _pick(get_image: Callable[[int], Image.Image], indices: list[int], i: int) -> Image.Image:
    return get_image(indices[i])


def _file_image(
    files: list[str], transform: Callable[[Image.Image], Image.Image] | None, i: int
) -> Image.Image:
    image = open_image(files[i])
    return transform(image) if transform else image


def array_image(images: np.ndarray, i: int) -> Image.Image:
    """Item ``i`` of an ``[N, H, W(, 3)]`` uint8 array as an RGB image."""
    return image_from_array(images[i])


# ----------------------------------------------------------------------------- errors


def task_name(task: Any) -> str:
    return str(getattr(task, "name", task))


def manual_text(task: Any) -> str | None:
    """The task file's ``source.manual``: the one place a dataset's manual steps live."""
    source = getattr(task, "source", None)
    manual = getattr(source, "manual", None) if source is not None else None
    if manual is None and isinstance(source, Mapping):
        manual = source.get("manual")
    return manual


def missing(task: Any, path: str | os.PathLike[str], layout: str | None = None) -> DataMissingError:
    """The error for data that is not on disk: where we looked and how to get it.

    Args:
        task: The task (its ``source.manual`` says how to get the data by hand).
        path: Where the data was looked for.
        layout: A generic loader's description of the files it reads (``imagefolder``,
            ``csv``, ``wds``), said where the task file gives no manual steps.
    """
    name = task_name(task)
    manual = manual_text(task)
    if manual:
        how = f"get it by hand: {manual.strip()}"
    elif layout:
        how = f"put it there: {layout}"
    else:
        how = f"run `bench download {name}` (or pass --data-root to where it lives)"
    return DataMissingError(f"{name}: data not found at {path}; {how}")


def require(task: Any, *paths: str | os.PathLike[str], layout: str | None = None) -> None:
    """Raises :func:`missing` for the first of ``paths`` that does not exist."""
    for path in paths:
        if not Path(path).exists():
            raise missing(task, path, layout)


def check_split(task: Any, split: str, allowed: Iterable[str]) -> None:
    """Rejects a split this source does not have, naming the valid ones."""
    allowed = tuple(allowed)
    if split not in allowed:
        raise BenchError(
            f"{task_name(task)} has no split {split!r}; valid: {', '.join(allowed)}"
            + (
                " (a validation split is carved from train by Task.dataset)"
                if split == "val"
                else ""
            )
        )


def check_fold(task: Any, fold: int | None, folds: int = 0) -> None:
    """Rejects a ``fold`` for a task without folds, or one out of range."""
    if fold is None:
        return
    if not folds:
        raise BenchError(f"{task_name(task)} has no folds; drop fold={fold}")
    if not 0 <= fold < folds:
        raise BenchError(f"{task_name(task)}: fold {fold} is out of range; valid: 0..{folds - 1}")


def read_lines(path: str | os.PathLike[str]) -> list[str]:
    """Non-empty stripped lines of a text file."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(
        p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def class_folders(folder: str | os.PathLike[str]) -> list[str]:
    """Names of the sub-folders of ``folder``, sorted (byte order, as ``sorted(os.listdir)``)."""
    return sorted(
        p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith(".")
    )


def check_num_classes(task: Any, found: int, where: str) -> None:
    """Refuses a source whose class count differs from the task's."""
    expected = getattr(task, "num_classes", None)
    if expected is not None and expected != found:
        raise DataMissingError(
            f"{task_name(task)}: {where} has {found} classes, the task has {expected}; the data "
            "is incomplete or not this dataset: download it again"
        )


def index_by_name(task: Any, names: Sequence[str], where: str) -> list[int]:
    """The task's class index of each name in ``names`` (a source's own class order).

    Raises:
        BenchError: a name that is not one of the task's classes (task file and loader
            disagree: a bug in the task file, with the names to fix it).
    """
    classnames = list(getattr(task, "classnames", ()) or ())
    position = {c: i for i, c in enumerate(classnames)}
    missing_names = [n for n in names if n not in position]
    if missing_names:
        raise BenchError(
            f"{task_name(task)}: {where} names classes {missing_names[:5]} that are not in the "
            "task's classes; the task file's class list must hold these names"
        )
    return [position[n] for n in names]


# ----------------------------------------------------------------------------- sampling


def per_class_split(
    labels: Sequence[int], counts: Sequence[int | None], seed: int
) -> list[list[int]]:
    """Deterministic class-stratified parts: for each class, ``counts[k]`` items to part k.

    The items of each class (in the loader's order, i.e. sorted by file name) are put in the
    project's seeded order (:func:`bench.datasets._splits.seeded_order`, a fixed integer hash of
    the index and ``seed``, stable across numpy versions) and cut into consecutive parts of
    the given sizes; ``None`` as the last count means "the rest". A class with too few items
    gets what there is, in order of the parts. Each part is returned sorted by index.
    """
    from bench.datasets._splits import seeded_order

    labels = np.asarray(labels)
    parts: list[list[int]] = [[] for _ in counts]
    for cls in np.unique(labels):
        idx = seeded_order(np.flatnonzero(labels == cls), seed)
        start = 0
        for k, n in enumerate(counts):
            stop = len(idx) if n is None else min(start + n, len(idx))
            parts[k].extend(idx[start:stop].tolist())
            start = stop
    return [sorted(p) for p in parts]


def scan_class_folders(base: str | os.PathLike[str]) -> tuple[list[str], list[Path], list[int]]:
    """A folder-per-class tree: ``(class folder names sorted, image files, label per file)``."""
    classes = class_folders(base)
    files: list[Path] = []
    labels: list[int] = []
    for label, cls in enumerate(classes):
        found = image_files(Path(base) / cls)
        files.extend(found)
        labels.extend([label] * len(found))
    return classes, files, labels
