"""CLEVR object counting (8 classes: 3..10 objects), the VTAB ``count_all`` task.

On disk (``CLEVR_v1.0.zip``, torchvision's layout): ``CLEVR_v1.0/images/{train,val}/
CLEVR_<split>_NNNNNN.png`` and ``CLEVR_v1.0/scenes/CLEVR_{train,val}_scenes.json``
(``scenes[*].image_filename`` and ``objects``). The label is the number of objects, as the
index of ``str(count)`` in the paper's class list, which is sorted as strings:
``['10', '3', '4', '5', '6', '7', '8', '9']`` (so 10 objects -> 0, 3 -> 1, ...).

The paper uses 2,000 training and 500 test images without saying which. We draw them
deterministically: ``train`` = 2,000 scenes of CLEVR train and ``test`` = 500 scenes of
CLEVR val (VTAB tests on CLEVR val too): the first ``size`` of the scenes (sorted by file
name) in the project's seeded order (``bench.datasets._splits.seeded_order``, ``seed`` 0), kept
in file-name order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    require,
)
from bench.datasets._download import download_files
from bench.datasets._splits import seeded_order
from bench.errors import DataMissingError

SPLITS = ("train", "test")
OFFICIAL_VAL = False
SOURCE = {"train": "train", "test": "val"}
CLASSES = tuple(sorted(str(n) for n in range(3, 11)))


def load(
    task: Any,
    split: str,
    root: str | Path,
    fold: int | None = None,
    train_size: int = 2000,
    test_size: int = 500,
    seed: int = 0,
) -> LazyDataset:
    """CLEVR-counts ``split``: a seeded sample of ``train_size`` / ``test_size`` scenes."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "CLEVR_v1.0"
    part = SOURCE[split]
    scenes_file = base / "scenes" / f"CLEVR_{part}_scenes.json"
    require(task, scenes_file, base / "images" / part)
    with open(scenes_file, encoding="utf-8") as f:
        scenes = sorted(json.load(f)["scenes"], key=lambda s: s["image_filename"])
    size = train_size if split == "train" else test_size
    if size > len(scenes):
        raise DataMissingError(f"{scenes_file} has {len(scenes)} scenes, {size} are needed")
    chosen = np.sort(seeded_order(np.arange(len(scenes)), seed)[:size])
    files, labels = [], []
    for i in chosen:
        count = str(len(scenes[i]["objects"]))
        if count not in CLASSES:
            raise DataMissingError(f"{scenes_file}: scene {i} has {count} objects, not 3..10")
        files.append(base / "images" / part / scenes[i]["image_filename"])
        labels.append(CLASSES.index(count))
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    scenes = Path(root) / "CLEVR_v1.0" / "scenes"
    return all((scenes / f"CLEVR_{p}_scenes.json").exists() for p in SOURCE.values())


download = download_files  # the task file's source.files, into the task's folder
