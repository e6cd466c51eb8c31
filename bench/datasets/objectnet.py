"""ObjectNet 1.0 restricted to its 113 classes that overlap ImageNet (18,514 images).

On disk (the authors' password-protected ``objectnet-1.0.zip``, unpacked):
``objectnet-1.0/images/<folder>/*.png``. Folder names map to ObjectNet labels through
``data/objectnet/folder_to_objectnet_label.json``; the 113 labels of
``objectnet_to_imagenet_1k.json`` map many-to-one from 125 ImageNet classes (resolved with
``imagenet_to_labels.json``), which gives each class its ImageNet pool. Folders of the other
200 ObjectNet classes are skipped. Labels are the task's class indices, matched by pool
(without pools: the order of ``objectnet_to_imagenet_1k.json``).

Every image has a thin red border; like the ImageNet testbed (``ImageOps.crop(border=2)``)
and wise-ft/model-soups (``img.crop((2, 2, w - 2, h - 2))``) we cut 2 pixels from each side.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image

from bench.datasets._common import LazyDataset, check_fold, check_split, missing
from bench.datasets._imagenet import read_data, task_positions, wnid_folder_dataset
from bench.errors import DataMissingError

SPLITS = ("test",)
OFFICIAL_VAL = False
BORDER = 2


@cache
def classes() -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    """``(ObjectNet label, image folder, ImageNet indices)`` of the 113 classes, in file order."""
    to_folder = {v: k for k, v in read_data("objectnet/folder_to_objectnet_label.json").items()}
    to_index = {v: int(k) for k, v in read_data("objectnet/imagenet_to_labels.json").items()}
    out = []
    for label, names in read_data("objectnet/objectnet_to_imagenet_1k.json").items():
        ids = tuple(to_index[n] for n in names.split("; "))
        out.append((label, to_folder[label], ids))
    return tuple(out)


def crop_border(image: Image.Image, border: int = BORDER) -> Image.Image:
    """Removes ``border`` pixels from each side (ObjectNet's red frame)."""
    width, height = image.size
    return image.crop((border, border, width - border, height - border))


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """ObjectNet ``test`` on the 113 ImageNet-overlapping classes, border cropped."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "objectnet-1.0" / "images"
    if not base.is_dir():
        raise missing(task, base)
    table = classes()
    labels = task_positions(task, [ids for _, _, ids in table])
    try:
        return wnid_folder_dataset(task, base, [f for _, f, _ in table], labels, crop_border)
    except DataMissingError:
        raise missing(task, base / table[0][1]) from None


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / "objectnet-1.0" / "images").is_dir()
