"""KITTI closest-vehicle distance (4 classes), the VTAB task the paper uses.

On disk (torchvision's layout plus the object devkit): ``Kitti/raw/training/image_2/
NNNNNN.png``, ``Kitti/raw/training/label_2/NNNNNN.txt`` (KITTI object labels: ``type
truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y``) and, from
``devkit_object.zip``, ``Kitti/mapping/train_rand.txt`` and ``train_mapping.txt``.

Label (VTAB's ``closest_vehicle_distance``): the smallest camera-frame depth ``z`` of the
Car/Van/Truck objects (1000 m if none), binned by thresholds (-100, 8, 20, 999]: 0 = up to
8 m ("on my left or right side"), 1 = up to 20 m ("nearby"), 2 = farther ("in the
distance"), 3 = no vehicle.

Split (TFDS ``kitti`` 3.x, used by VTAB and the paper): the 7,481 labelled training images
are grouped by their raw video (via the devkit mapping); with ``numpy.random.seed(123)``
10% of the videos are drawn for test, then 10% of the rest for validation. ``train`` (6,347)
+ ``val`` (423) = the paper's 6,770; ``test`` 711.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    read_lines,
    require,
)
from bench.datasets._download import download_resources, resources

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True
VEHICLES = ("Car", "Van", "Truck")
THRESHOLDS = np.array([-100.0, 8.0, 20.0, 999.0])


def distance_label(label_file: Path) -> int:
    """The closest-vehicle class (0..3) of one KITTI object label file."""
    depths = [1000.0]
    for line in read_lines(label_file):
        fields = line.split()
        if fields[0] in VEHICLES:
            depths.append(float(fields[13]))
    return int(np.max(np.flatnonzero(THRESHOLDS - min(depths) < 0)))


def video_splits(mapping_dir: Path) -> dict[str, list[int]]:
    """TFDS's video-disjoint ``train``/``val``/``test`` image indices (sorted)."""
    line_ids = [int(x) - 1 for x in read_lines(mapping_dir / "train_rand.txt")[0].split(",")]
    with open(mapping_dir / "train_mapping.txt", encoding="utf-8") as f:
        mapping = f.read().splitlines()
    video_to_image: dict[str, list[int]] = collections.defaultdict(list)
    for image_id, line_id in enumerate(line_ids):
        video_to_image[mapping[line_id].split(" ")[1]].append(image_id)
    rng = np.random.RandomState(123)  # the same stream as TFDS's np.random.seed(123)
    videos = sorted(video_to_image)
    n_test = max(1, 10 * len(videos) // 100)
    n_val = max(1, 10 * len(videos) // 100)
    test = set(rng.choice(videos, n_test, replace=False))
    val = set(rng.choice(sorted(set(videos) - test), n_val, replace=False))
    parts: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    for video, images in video_to_image.items():
        part = "test" if video in test else "val" if video in val else "train"
        parts[part].extend(images)
    return {k: sorted(v) for k, v in parts.items()}


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """KITTI-distance ``split`` (train, val or test)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "Kitti"
    training = base / "raw" / "training"
    require(task, training / "image_2", training / "label_2", base / "mapping" / "train_rand.txt")
    ids = video_splits(base / "mapping")[split]
    labels = []
    for i in ids:
        label_file = training / "label_2" / f"{i:06d}.txt"
        require(task, label_file)
        labels.append(distance_label(label_file))
    return file_dataset([training / "image_2" / f"{i:06d}.png" for i in ids], labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    base = Path(root) / "Kitti"
    return (base / "raw" / "training" / "label_2").is_dir() and (
        base / "mapping" / "train_mapping.txt"
    ).exists()


def download(task: Any, root: str | Path, **_: Any) -> None:
    download_resources(Path(root) / "Kitti", resources(task))
