"""Country211 (OpenAI): YFCC100M photos geolocated to 211 countries.

On disk (OpenAI's ``country211.tgz``): ``country211/{train,valid,test}/<ISO code>/*.jpg``;
label order = sorted ISO codes (the paper's order). The official ``val`` (``valid``)
exists: train 31,650 + valid 10,550 = the paper's 42,200; test 21,100.
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
    require,
    scan_class_folders,
)
from bench.datasets._download import download_files

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True
FOLDER = {"train": "train", "val": "valid", "test": "test"}


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Country211 ``split``."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "country211" / FOLDER[split]
    require(task, base)
    classes, files, labels = scan_class_folders(base)
    check_num_classes(task, len(classes), base)
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return all((Path(root) / "country211" / f).is_dir() for f in FOLDER.values())


download = download_files  # the task file's source.files, into the task's folder
