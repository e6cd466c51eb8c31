"""Food-101 from the official archive.

On disk: ``food-101/meta/classes.txt`` (101 class folder names, the label order),
``food-101/meta/{train,test}.json`` (class -> ``["<class>/<id>", ...]``) and
``food-101/images/<class>/<id>.jpg``. Train 75,750 / test 25,250; no official validation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_num_classes,
    check_split,
    file_dataset,
    missing,
    read_lines,
    require,
)
from bench.datasets._download import download_files

SPLITS = ("train", "test")
OFFICIAL_VAL = False


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Food-101 ``split`` from ``root/food-101``."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "food-101"
    meta = base / "meta"
    require(task, meta / "classes.txt", meta / f"{split}.json")
    classes = read_lines(meta / "classes.txt")
    check_num_classes(task, len(classes), meta / "classes.txt")
    with open(meta / f"{split}.json", encoding="utf-8") as f:
        listing = json.load(f)
    files, labels = [], []
    for label, cls in enumerate(classes):
        if cls not in listing:
            raise missing(task, f"{meta / f'{split}.json'} entry {cls!r}")
        for item in listing[cls]:
            files.append(base / "images" / f"{item}.jpg")
            labels.append(label)
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    meta = Path(root) / "food-101" / "meta"
    return all((meta / n).exists() for n in ("classes.txt", "train.json", "test.json"))


download = download_files  # the task file's source.files, into the task's folder
