"""PASCAL VOC 2007 classification: multi-label, 20 classes, from the annotation XMLs.

On disk (both official tars unpack here): ``VOCdevkit/VOC2007/ImageSets/Main/{train,val,
trainval,test}.txt``, ``Annotations/<id>.xml`` and ``JPEGImages/<id>.jpg``. The official
``val`` exists: ``train`` (2,501) + ``val`` (2,510) = the paper's 5,011 (trainval); test 4,952.

Labels are a multi-hot float tensor ``[N, 20]`` in the task's class order (matched by
name, so the task file may order the classes as the paper's prompts do). "Difficult"
handling follows the VOC devkit: a class is positive if the image has at least one
non-difficult object of it; a class present *only* as difficult objects is 0 in
``labels`` and flagged in ``dataset.difficult`` (a bool tensor of the same shape), which
the devkit's evaluation ignores for that class; a metric may mask those entries.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import torch

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    index_by_name,
    missing,
    read_lines,
    require,
)
from bench.datasets._download import download_files

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True
# The XML names, in the devkit's order.
VOC_CLASSES = (
    "aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse "
    "motorbike person pottedplant sheep sofa train tvmonitor"
).split()


def parse_annotation(path: Path) -> list[tuple[str, bool]]:
    """``(class name, difficult)`` of each object in a VOC annotation XML."""
    try:
        tree = ET.parse(path)
    except FileNotFoundError:
        raise
    except ET.ParseError as e:
        from bench.errors import DataMissingError

        raise DataMissingError(f"cannot parse {path}: {e}; download VOC2007 again") from e
    objects = []
    for obj in tree.getroot().iter("object"):
        name = (obj.findtext("name") or "").strip()
        difficult = (obj.findtext("difficult") or "0").strip() == "1"
        objects.append((name, difficult))
    return objects


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """VOC2007 ``split`` with multi-hot labels; ``.difficult`` marks difficult-only classes."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "VOCdevkit" / "VOC2007"
    listing = base / "ImageSets" / "Main" / f"{split}.txt"
    require(task, listing)
    column = dict(zip(VOC_CLASSES, index_by_name(task, VOC_CLASSES, "VOC2007"), strict=True))
    ids = read_lines(listing)
    labels = torch.zeros(len(ids), len(VOC_CLASSES))
    difficult = torch.zeros(len(ids), len(VOC_CLASSES), dtype=torch.bool)
    for row, image_id in enumerate(ids):
        xml = base / "Annotations" / f"{image_id}.xml"
        if not xml.exists():
            raise missing(task, xml)
        for name, is_difficult in parse_annotation(xml):
            if name not in column:
                raise missing(task, f"{xml} (unknown class {name!r})")
            if is_difficult:
                difficult[row, column[name]] = True
            else:
                labels[row, column[name]] = 1.0
    dataset = file_dataset([base / "JPEGImages" / f"{i}.jpg" for i in ids], labels)
    dataset.difficult = difficult & (labels == 0)
    return dataset


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    main = Path(root) / "VOCdevkit" / "VOC2007" / "ImageSets" / "Main"
    return all((main / f"{s}.txt").exists() for s in SPLITS)


download = download_files  # the task file's source.files, into the task's folder
