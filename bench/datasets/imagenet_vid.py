"""ImageNet-Vid-Robust (Shankar et al. 2021): 30 classes, anchor frames with +-10 neighbours.

On disk (``imagenet_vid_ytbb_robust.tar.gz``, unpacked): ``imagenet-vid-robust/val/
ILSVRC2015_val_NNNNNNNN/NNNNNN.JPEG``. The frame list, labels and pm-k sets come with the
package (``data/imagenet_vid/labels.json``, ``pmsets.json``, from the ImageNet testbed):
22,179 frames, of which 1,109 anchors.

Items are ``(image, multi-hot [30])``: a frame may have several valid classes. The dataset
also has ``.anchors`` (sample indices of the 1,109 anchors) and ``.pmk_sets`` (anchor
sample index -> neighbour sample indices within +-10 frames). pm-0 is the accuracy on the
anchors (prediction in the valid classes); pm-10 counts an anchor as correct only if it
and every neighbour are. Class k pools the ImageNet logits of
``data/imagenet_vid/rev_class_idx_map.json[k]``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import torch

from bench.datasets._common import LazyDataset, check_fold, check_split, file_dataset, missing
from bench.datasets._imagenet import read_data

SPLITS = ("test",)
OFFICIAL_VAL = False
NUM_CLASSES = 30
FOLDER = "imagenet-vid-robust"


@cache
def metadata() -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """(frame key -> valid classes, anchor key -> neighbour keys) from the package data."""
    return read_data("imagenet_vid/labels.json"), read_data("imagenet_vid/pmsets.json")


def multi_hot(label_sets: list[list[int]], num_classes: int) -> torch.Tensor:
    """A ``[N, num_classes]`` float tensor with 1 at each item's valid classes."""
    rows = [r for r, labels in enumerate(label_sets) for _ in labels]
    cols = [c for labels in label_sets for c in labels]
    out = torch.zeros(len(label_sets), num_classes)
    out[rows, cols] = 1.0
    return out


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """All 22,179 frames, with ``.anchors`` and ``.pmk_sets`` for pm-0 / pm-10."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / FOLDER
    if not (base / "val").is_dir():
        raise missing(task, base / "val")
    labels, pmsets = metadata()
    keys = sorted(labels)
    index = {k: i for i, k in enumerate(keys)}
    dataset = file_dataset([base / k for k in keys], multi_hot([labels[k] for k in keys], 30))
    dataset.anchors = sorted(index[a] for a in pmsets)
    dataset.pmk_sets = {index[a]: [index[n] for n in pmsets[a]] for a in pmsets}
    return dataset


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / FOLDER / "val").is_dir()
