"""ImageNet-R: 30000 renditions (art, cartoons, sculptures, ...) of 200 ImageNet classes.

On disk (the authors' ``imagenet-r.tar``): ``imagenet-r/<wnid>/*.jpg`` for the 200 wnids of
``data/imagenet_r_class_sublist.json``. Labels are the task's class indices: each wnid is
matched through its ImageNet index to the task class whose ``imagenet_pool`` holds it
(without pools: the sublist's ascending ImageNet-index order). Test only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import LazyDataset, check_fold, check_split
from bench.datasets._download import download_files
from bench.datasets._imagenet import load_sublist_folder, sublist_wnids

SPLITS = ("test",)
OFFICIAL_VAL = False
SUBLIST = "imagenet_r_class_sublist.json"


def class_wnids() -> tuple[str, ...]:
    """The 200 wnids, in ascending ImageNet index order."""
    return sublist_wnids(SUBLIST)


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """ImageNet-R ``test`` with labels in the task's class order."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    return load_sublist_folder(task, root, "imagenet-r", SUBLIST)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / "imagenet-r").is_dir()


download = download_files  # the task file's source.files, into the task's folder
