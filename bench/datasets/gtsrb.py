"""GTSRB (43 traffic-sign classes) from the official archives.

On disk (torchvision's layout): ``GTSRB/Training/<000NN>/*.ppm`` (class = folder number),
``GTSRB/Final_Test/Images/*.ppm`` and ``GT-final_test.csv`` (``;``-separated with
``Filename`` and ``ClassId``). Train = the official training set (39,209), test 12,630.
The paper's Table 9 gives 26,640 training images, a subset we cannot reconstruct.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_num_classes,
    check_split,
    file_dataset,
    require,
    scan_class_folders,
)
from bench.datasets._download import download_files

SPLITS = ("train", "test")
OFFICIAL_VAL = False


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """GTSRB ``split``."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    root = Path(root)
    if split == "train":
        base = root / "GTSRB" / "Training"
        require(task, base)
        folders, files, labels = scan_class_folders(base)
        check_num_classes(task, len(folders), base)
        return file_dataset(files, [int(folders[y]) for y in labels])
    images, truth = root / "GTSRB" / "Final_Test" / "Images", root / "GT-final_test.csv"
    require(task, images, truth)
    files, labels = [], []
    with open(truth, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter=";"):
            files.append(images / row["Filename"])
            labels.append(int(row["ClassId"]))
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    root = Path(root)
    return (root / "GTSRB" / "Training").is_dir() and (root / "GT-final_test.csv").exists()


download = download_files  # the task file's source.files, into the task's folder
