"""FGVC-Aircraft 2013b, variant level (100 classes).

On disk: ``fgvc-aircraft-2013b/data/variants.txt`` (label order),
``data/images_variant_{train,val,test}.txt`` (``<image id> <variant>`` per line) and
``data/images/<id>.jpg``. The official ``val`` exists: ``train`` (3,334) and ``val``
(3,333) together are the paper's 6,667 training images (``trainval``); test 3,333.
The images keep their 20-pixel copyright banner, as in torchvision and the paper's code.
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
    missing,
    read_lines,
    require,
)
from bench.datasets._download import download_files

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """FGVC-Aircraft ``split`` (train, val or test; train+val is the paper's trainval)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    data = Path(root) / "fgvc-aircraft-2013b" / "data"
    listing = data / f"images_variant_{split}.txt"
    require(task, data / "variants.txt", listing)
    variants = read_lines(data / "variants.txt")
    check_num_classes(task, len(variants), data / "variants.txt")
    index = {v: i for i, v in enumerate(variants)}
    files, labels = [], []
    for line in read_lines(listing):
        image_id, variant = line.split(" ", 1)
        if variant not in index:
            raise missing(task, f"{data / 'variants.txt'} (variant {variant!r} of {listing})")
        files.append(data / "images" / f"{image_id}.jpg")
        labels.append(index[variant])
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    data = Path(root) / "fgvc-aircraft-2013b" / "data"
    return all((data / f"images_variant_{s}.txt").exists() for s in SPLITS)


download = download_files  # the task file's source.files, into the task's folder
