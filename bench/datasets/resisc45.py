"""NWPU-RESISC45 (45 scene classes, 700 images each) with the paper's per-class sample.

On disk: ``NWPU-RESISC45/<class>/<class>_NNN.jpg`` (folder names with underscores; label
order = sorted folder names, which is the paper's order). Fetched from a pinned revision of
a Hugging Face dataset repository that mirrors the official zip (sha256 as published by
torchgeo); the official OneDrive release is a RAR archive.

There is no official split: the paper uses 3,150 / 25,200, i.e. 70 / 560 per class. Per
class, the files sorted by name are put in the project's seeded order
(``bench.datasets._splits.seeded_order``, ``seed`` 0); the first 70 are ``train``, the next 560
``test``; the last 70 are unused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_num_classes,
    check_split,
    file_dataset,
    per_class_split,
    require,
    scan_class_folders,
)
from bench.datasets._download import download_files

SPLITS = ("train", "test")
OFFICIAL_VAL = False


def load(
    task: Any,
    split: str,
    root: str | Path,
    fold: int | None = None,
    train_per_class: int = 70,
    test_per_class: int = 560,
    seed: int = 0,
) -> LazyDataset:
    """RESISC45 ``split`` of the seeded per-class sample."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "NWPU-RESISC45"
    require(task, base)
    classes, files, labels = scan_class_folders(base)
    check_num_classes(task, len(classes), base)
    train, test = per_class_split(labels, [train_per_class, test_per_class], seed)
    keep = train if split == "train" else test
    return file_dataset([files[i] for i in keep], [labels[i] for i in keep])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / "NWPU-RESISC45").is_dir()


download = download_files  # the task file's source.files, into the task's folder
