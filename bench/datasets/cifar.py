"""CIFAR-10 and CIFAR-100 from the official "python version" pickle batches.

On disk (as the archive unpacks, the layout torchvision reads): ``cifar-10-batches-py/``
with ``data_batch_1..5`` and ``test_batch`` (keys ``data`` uint8 [N, 3072] row-major RGB
planes, ``labels``), or ``cifar-100-python/`` with ``train`` and ``test`` (``fine_labels``).
Train 50,000 / test 10,000; no official validation split.
"""

from __future__ import annotations

import pickle
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
from bench.datasets._download import Resource, download_resources

SPLITS = ("train", "test")
OFFICIAL_VAL = False

VARIANTS = {
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "key": "labels",
        "resource": Resource(
            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            "cifar-10-python.tar.gz",
            "md5:c58f30108f718f92721af3b95e74349a",
        ),
    },
    "cifar100": {
        "folder": "cifar-100-python",
        "train": ["train"],
        "test": ["test"],
        "key": "fine_labels",
        "resource": Resource(
            "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
            "cifar-100-python.tar.gz",
            "md5:eb9058c3a382ffc7106e4002c42a8d85",
        ),
    },
}


def _variant(task: Any, variant: str | None) -> dict:
    variant = variant or getattr(task, "name", "cifar10")
    if variant not in VARIANTS:
        from bench.errors import BenchError

        raise BenchError(f"unknown CIFAR variant {variant!r}; valid: {', '.join(VARIANTS)}")
    return VARIANTS[variant]


def _read_batch(path: Path, key: str) -> tuple[np.ndarray, list[int]]:
    with open(path, "rb") as f:
        entry = pickle.load(f, encoding="latin1")
    data = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return data, list(entry[key])


def load(
    task: Any, split: str, root: str | Path, fold: int | None = None, variant: str | None = None
) -> LazyDataset:
    """CIFAR ``split`` (``train`` or ``test``) from the pickle batches under ``root``.

    Raises:
        DataMissingError: a batch file is missing.
    """
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    spec = _variant(task, variant)
    folder = Path(root) / spec["folder"]
    arrays, labels = [], []
    for name in spec[split]:
        path = folder / name
        if not path.exists():
            raise missing(task, path)
        data, lab = _read_batch(path, spec["key"])
        arrays.append(data)
        labels.extend(lab)
    images = np.concatenate(arrays)
    return LazyDataset(labels, partial(array_image, images))


def is_present(task: Any, root: str | Path, variant: str | None = None, **_: Any) -> bool:
    spec = _variant(task, variant)
    folder = Path(root) / spec["folder"]
    return all((folder / n).exists() for n in spec["train"] + spec["test"])


def download(task: Any, root: str | Path, variant: str | None = None, **_: Any) -> None:
    download_resources(root, [_variant(task, variant)["resource"]])
