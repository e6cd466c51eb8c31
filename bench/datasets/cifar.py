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
from numpy._core.multiarray import _reconstruct as np_reconstruct

from bench.datasets._common import (
    LazyDataset,
    array_image,
    check_fold,
    check_split,
    missing,
)
from bench.datasets._download import download_files
from bench.errors import BenchError

SPLITS = ("train", "test")
OFFICIAL_VAL = False

VARIANTS = {
    "cifar10": {
        "folder": "cifar-10-batches-py",
        "train": [f"data_batch_{i}" for i in range(1, 6)],
        "test": ["test_batch"],
        "key": "labels",
    },
    "cifar100": {
        "folder": "cifar-100-python",
        "train": ["train"],
        "test": ["test"],
        "key": "fine_labels",
    },
}


def _variant(task: Any, variant: str | None) -> dict:
    variant = variant or getattr(task, "name", "cifar10")
    if variant not in VARIANTS:
        raise BenchError(f"unknown CIFAR variant {variant!r}; valid: {', '.join(VARIANTS)}")
    return VARIANTS[variant]


# The only globals the official batches reference (Python 2 cPickle, protocol 2, of a dict of
# str, int lists and one uint8 ndarray): numpy's array reconstructor (``numpy.core`` in the
# files, ``numpy._core`` since NumPy 2), the ndarray class and the dtype constructor.
_CIFAR_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): np_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _BatchUnpickler(pickle.Unpickler):
    """Admits only :data:`_CIFAR_GLOBALS`: a crafted batch file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _CIFAR_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"global {module}.{name} is not allowed in a CIFAR batch"
            ) from None


def _read_batch(path: Path, key: str) -> tuple[np.ndarray, list[int]]:
    try:
        with open(path, "rb") as f:
            entry = _BatchUnpickler(f, encoding="latin1").load()
        raw = entry["data"]
        if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8:
            raise ValueError(f"'data' is a {type(raw).__name__}, not a uint8 array")
        labels = [int(v) for v in entry[key]]
        data = raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as err:
        raise BenchError(
            f"{path} is not a CIFAR batch of the official python version ({err}); delete the "
            "folder and run `bench download` again"
        ) from err
    return data, labels


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


download = download_files  # each variant's task file lists its own archive
