"""Oxford Flowers-102.

On disk: ``flowers-102/jpg/image_NNNNN.jpg``, ``flowers-102/imagelabels.mat`` (``labels``:
1..102 per image) and ``flowers-102/setid.mat`` (``trnid``, ``valid``, ``tstid``: 1-based
image numbers). The official ``val`` exists: train 1,020 + val 1,020 = the paper's 2,040;
test 6,149.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    require,
)
from bench.datasets._download import download_resources, resources
from bench.errors import DataMissingError

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True
SET_KEYS = {"train": "trnid", "val": "valid", "test": "tstid"}


def _loadmat(path: Path, key: str) -> np.ndarray:
    from scipy.io import loadmat

    try:
        return np.asarray(loadmat(path, squeeze_me=True)[key]).reshape(-1)
    except (ValueError, KeyError, OSError) as e:
        raise DataMissingError(f"cannot read {key!r} from {path}: {e}; download it again") from e


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Flowers-102 ``split``; label = ``imagelabels`` - 1."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "flowers-102"
    require(task, base / "setid.mat", base / "imagelabels.mat")
    image_ids = _loadmat(base / "setid.mat", SET_KEYS[split]).astype(int)
    all_labels = _loadmat(base / "imagelabels.mat", "labels").astype(int)
    files = [base / "jpg" / f"image_{i:05d}.jpg" for i in image_ids]
    return file_dataset(files, [int(all_labels[i - 1]) - 1 for i in image_ids])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    base = Path(root) / "flowers-102"
    return (base / "setid.mat").exists() and (base / "imagelabels.mat").exists()


def download(task: Any, root: str | Path, **_: Any) -> None:
    download_resources(Path(root) / "flowers-102", resources(task))
