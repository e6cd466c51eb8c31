"""ImageNet-Sketch (50,889 sketches, 1,000 classes).

On disk (the authors' ``ImageNet-Sketch.zip``, mirrored on Hugging Face):
``sketch/<wnid>/*.JPEG``; labels in the standard wnid order. Test only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import LazyDataset, check_fold, check_split
from bench.datasets._download import download_files
from bench.datasets._imagenet import imagenet_wnids, wnid_folder_dataset

SPLITS = ("test",)
OFFICIAL_VAL = False


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """ImageNet-Sketch ``test``."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    return wnid_folder_dataset(task, Path(root) / "sketch", imagenet_wnids())


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / "sketch").is_dir()


download = download_files  # the task file's source.files, into the task's folder
