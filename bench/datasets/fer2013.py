"""FER2013 (facial expressions, 7 classes) from the Kaggle challenge CSV.

On disk: ``fer2013.csv`` (or ``fer2013/fer2013.csv`` as the Kaggle archive unpacks; columns ``emotion,pixels,Usage``) or
``icml_face_data.csv`` (``emotion, Usage, pixels``): 48x48 grey faces as
space-separated pixel values; ``emotion`` 0..6 = angry, disgust, fear, happy, sad,
surprise, neutral (the paper's class order). ``Usage`` gives the official split:
``train`` = Training (28,709), ``val`` = PublicTest (3,589), ``test`` = PrivateTest (3,589).
The paper reports 32,140 / 3,574, which no public file reproduces exactly.
"""

from __future__ import annotations

import csv
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    image_from_array,
    missing,
)
from bench.errors import DataMissingError

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True
USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FILES = ("fer2013.csv", "icml_face_data.csv")


def _csv(root: Path) -> Path | None:
    for folder in (root, root / "fer2013"):
        for name in FILES:
            if (folder / name).exists():
                return folder / name
    return None


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """FER2013 ``split`` by the CSV's ``Usage`` column."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    path = _csv(Path(root))
    if path is None:
        raise missing(task, Path(root) / FILES[0])
    pixels, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, skipinitialspace=True)
        for row in reader:
            if row.get("Usage") == USAGE[split]:
                pixels.append(row["pixels"])
                labels.append(int(row["emotion"]))
    names = [f"{path}:{USAGE[split]}:{i}" for i in range(len(labels))]
    return LazyDataset(labels, partial(_face, pixels, names), names)


def _face(pixels: list[str], names: list[str], i: int):
    values = np.array(pixels[i].split(), dtype=np.uint8)
    if values.size != 48 * 48:
        raise DataMissingError(f"{names[i]}: {values.size} pixel values, not 48x48 = 2304")
    return image_from_array(values.reshape(48, 48))


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return _csv(Path(root)) is not None
