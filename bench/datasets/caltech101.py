"""Caltech-101 (102 classes with the background class), with the paper's per-class split.

On disk: ``101_ObjectCategories/<category>/image_NNNN.jpg``. Label order = sorted folder
names (byte order: ``BACKGROUND_Google``, ``Faces``, ``Faces_easy``, ``Leopards``,
``Motorbikes``, ``accordion``, ...), which is the order of the paper's class names.

There is no official split. As the paper (and VTAB) do, we take 30 training images per
class and test on the rest: per class, the files sorted by name are put in the project's seeded order
(``bench.datasets._splits.seeded_order``, ``seed`` 0); the first 30
are ``train`` (3,060), all the others ``test`` (6,086 with the 9,146-image release; the
paper reports 6,085).
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
    image_files,
    per_class_split,
    require,
)
from bench.datasets._download import download_resources, extract, resources

SPLITS = ("train", "test")
OFFICIAL_VAL = False
TRAIN_PER_CLASS = 30


def load(
    task: Any,
    split: str,
    root: str | Path,
    fold: int | None = None,
    train_per_class: int = TRAIN_PER_CLASS,
    seed: int = 0,
) -> LazyDataset:
    """Caltech-101 ``split``: ``train_per_class`` seeded images per class, or the rest."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "101_ObjectCategories"
    require(task, base)
    classes = class_folders(base)
    check_num_classes(task, len(classes), base)
    files, labels = [], []
    for label, cls in enumerate(classes):
        for path in image_files(base / cls):
            files.append(path)
            labels.append(label)
    train, test = per_class_split(labels, [train_per_class, None], seed)
    keep = train if split == "train" else test
    return file_dataset([files[i] for i in keep], [labels[i] for i in keep])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / "101_ObjectCategories").is_dir()


def download(task: Any, root: str | Path, **_: Any) -> None:
    root = Path(root)
    download_resources(root, resources(task))
    # The zip holds caltech-101/101_ObjectCategories.tar.gz (and the annotations).
    inner = root / "caltech-101" / "101_ObjectCategories.tar.gz"
    if inner.exists() and not (root / "101_ObjectCategories").is_dir():
        extract(inner, root)
