"""Rendered SST2 (OpenAI): SST-2 sentences rendered as images, 2 classes.

On disk (OpenAI's ``rendered-sst2.tgz``): ``rendered-sst2/{train,valid,test}/{negative,
positive}/*.png``. The official ``val`` (``valid``) exists: train 6,920 + valid 872 = the
paper's 7,792; test 1,821.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    image_files,
    require,
)
from bench.datasets._download import download_files

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True
FOLDER = {"train": "train", "val": "valid", "test": "test"}
CLASSES = ("negative", "positive")


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Rendered SST2 ``split``; 0 = negative, 1 = positive."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "rendered-sst2" / FOLDER[split]
    require(task, *(base / c for c in CLASSES))
    files, labels = [], []
    for label, cls in enumerate(CLASSES):
        found = image_files(base / cls)
        files.extend(found)
        labels.extend([label] * len(found))
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return all((Path(root) / "rendered-sst2" / f).is_dir() for f in FOLDER.values())


download = download_files  # the task file's source.files, into the task's folder
