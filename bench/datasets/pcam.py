"""PatchCamelyon (PCam): 96x96 histopathology patches, 2 classes, from the HDF5 release.

On disk (torchvision's layout): ``pcam/camelyonpatch_level_2_split_{train,valid,test}_
{x,y}.h5`` with datasets ``x`` (uint8 [N, 96, 96, 3]) and ``y`` ([N, 1, 1, 1]; 1 = tumour).
The official ``val`` (``valid``) exists: train 262,144 + valid 32,768 = the paper's
294,912; test 32,768. Reading needs ``h5py`` (``pip install h5py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    image_from_array,
    require,
)
from bench.datasets._download import download_resources, resources
from bench.errors import BenchError

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True
PART = {"train": "train", "val": "valid", "test": "test"}


def _h5py():
    try:
        import h5py
    except ImportError as e:
        raise BenchError("pcam needs h5py to read its HDF5 files: pip install h5py") from e
    return h5py


def _file(root: Path, split: str, kind: str) -> Path:
    return root / "pcam" / f"camelyonpatch_level_2_split_{PART[split]}_{kind}.h5"


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """PCam ``split``; images are read from the HDF5 file on access."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    x_path, y_path = _file(Path(root), split, "x"), _file(Path(root), split, "y")
    require(task, x_path, y_path)
    h5py = _h5py()
    with h5py.File(y_path, "r") as f:
        labels = f["y"][:].reshape(-1).astype(int).tolist()
    return LazyDataset(labels, _Images(x_path))


class _Images:
    """Reads ``x[i]`` from one HDF5 file, opened once per process (workers fork or spawn)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pid: int | None = None
        self._file: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_pid": None, "_file": None}  # an open file does not pickle

    def __call__(self, i: int):
        if self._pid != os.getpid():
            self._file, self._pid = _h5py().File(self.path, "r"), os.getpid()
        return image_from_array(self._file["x"][i])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return all(_file(Path(root), s, k).exists() for s in SPLITS for k in ("x", "y"))


def download(task: Any, root: str | Path, **_: Any) -> None:
    download_resources(Path(root) / "pcam", resources(task))
