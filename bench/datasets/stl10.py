"""STL-10 from the binary release, with its 10 predefined training folds.

On disk: ``stl10_binary/{train,test}_X.bin`` (uint8 [N, 3, 96, 96], column-major images),
``{train,test}_y.bin`` (labels 1..10) and ``fold_indices.txt`` (10 lines of 0-based
indices into train, 1,000 each). ``train`` with ``fold=k`` is fold k (the paper averages
the probe over the 10 folds); without a fold it is all 5,000 training images. Test 8,000.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets._common import (
    LazyDataset,
    array_image,
    check_fold,
    check_split,
    read_lines,
    require,
)
from bench.datasets._download import download_files
from bench.errors import DataMissingError

SPLITS = ("train", "test")
OFFICIAL_VAL = False
FOLDS = 10


def _read(x_path: Path, y_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = np.fromfile(x_path, dtype=np.uint8)
    labels = np.fromfile(y_path, dtype=np.uint8).astype(np.int64) - 1
    if images.size != labels.size * 3 * 96 * 96:
        raise DataMissingError(
            f"{x_path} holds {images.size} bytes for {labels.size} labels; download it again"
        )
    # Stored column-major per channel: [N, 3, W, H] -> [N, H, W, 3].
    return images.reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1), labels


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """STL-10 ``split``; ``fold`` (0..9) picks one predefined 1,000-image training fold."""
    check_split(task, split, SPLITS)
    check_fold(task, fold, FOLDS)
    base = Path(root) / "stl10_binary"
    x_path, y_path = base / f"{split}_X.bin", base / f"{split}_y.bin"
    require(task, x_path, y_path)
    images, labels = _read(x_path, y_path)
    index = np.arange(len(labels))
    if split == "train" and fold is not None:
        require(task, base / "fold_indices.txt")
        folds = read_lines(base / "fold_indices.txt")
        index = np.array([int(i) for i in folds[fold].split()], dtype=np.int64)
    return LazyDataset(labels[index].tolist(), partial(array_image, images[index]))


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    base = Path(root) / "stl10_binary"
    names = ("train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "fold_indices.txt")
    return all((base / n).exists() for n in names)


download = download_files  # the task file's source.files, into the task's folder
