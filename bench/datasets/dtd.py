"""Describable Textures (DTD r1.0.1), the paper's partition 1.

On disk: ``dtd/images/<class>/<file>.jpg`` (47 classes; label order = sorted folder names)
and ``dtd/labels/{train,val,test}<k>.txt`` (``<class>/<file>.jpg`` per line). The official
``val`` exists: ``train1`` + ``val1`` = 3,760 (the paper's training set), ``test1`` 1,880.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_num_classes,
    check_split,
    class_folders,
    file_dataset,
    missing,
    read_lines,
    require,
)
from bench.datasets._download import download_files

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True


def load(
    task: Any, split: str, root: str | Path, fold: int | None = None, partition: int = 1
) -> LazyDataset:
    """DTD ``split`` of partition ``partition`` (1..10; the paper uses 1)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "dtd"
    listing = base / "labels" / f"{split}{partition}.txt"
    require(task, base / "images", listing)
    classes = class_folders(base / "images")
    check_num_classes(task, len(classes), base / "images")
    index = {c: i for i, c in enumerate(classes)}
    files, labels = [], []
    for line in read_lines(listing):
        cls = line.split("/", 1)[0]
        if cls not in index:
            raise missing(task, base / "images" / cls)
        files.append(base / "images" / line)
        labels.append(index[cls])
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, partition: int = 1, **_: Any) -> bool:
    labels = Path(root) / "dtd" / "labels"
    return all((labels / f"{s}{partition}.txt").exists() for s in SPLITS)


download = download_files  # the task file's source.files, into the task's folder
