"""Oxford-IIIT Pets (37 breeds).

On disk: ``oxford-iiit-pet/annotations/{trainval,test}.txt`` (``<image> <class id 1..37>
<species> <breed id>`` per line; ``#`` comments) and ``oxford-iiit-pet/images/<image>.jpg``.
Train (trainval) 3,680 / test 3,669; no official validation split of trainval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    read_lines,
    require,
)
from bench.datasets._download import download_files

SPLITS = ("train", "test")
OFFICIAL_VAL = False
LISTS = {"train": "trainval.txt", "test": "test.txt"}


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Oxford-IIIT Pets ``split``; label = class id - 1 (the breeds in alphabetical order)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "oxford-iiit-pet"
    listing = base / "annotations" / LISTS[split]
    require(task, listing)
    files, labels = [], []
    for line in read_lines(listing):
        if line.startswith("#"):
            continue
        image_id, class_id = line.split()[:2]
        files.append(base / "images" / f"{image_id}.jpg")
        labels.append(int(class_id) - 1)
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    ann = Path(root) / "oxford-iiit-pet" / "annotations"
    return all((ann / n).exists() for n in LISTS.values())


download = download_files  # the task file's source.files, into the task's folder
