"""ImageNet (ILSVRC-2012) from the class-folder layout torchvision's ``ImageNet`` prepares.

On disk: ``train/<wnid>/*.JPEG`` (1,281,167) and ``val/<wnid>/*.JPEG`` (50,000), labels in
the standard wnid order. ``test`` is the official validation set (as in the paper); there
is no official held-out split of train, so ``val`` is carved from train by ``Task.dataset``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import LazyDataset, check_fold, check_split
from bench.datasets._imagenet import imagenet_wnids, wnid_folder_dataset

SPLITS = ("train", "test")
OFFICIAL_VAL = False
FOLDER = {"train": "train", "test": "val"}


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """ImageNet ``split`` (``test`` = the official 50,000-image validation set)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / FOLDER[split]
    if not base.is_dir():
        from bench.datasets._common import missing

        raise missing(task, base)
    return wnid_folder_dataset(task, base, imagenet_wnids())


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return all((Path(root) / f).is_dir() for f in FOLDER.values())
