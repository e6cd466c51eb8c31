"""SUN397 with the paper's split: the first of the ten official partitions.

On disk: ``SUN397/ClassName.txt`` (``/a/abbey`` ... in label order), images under
``SUN397/<letter>/<class>[/<sub>]/sun_*.jpg``, and the partition lists from
``Partitions.zip``: ``Partitions/Training_01.txt`` and ``Partitions/Testing_01.txt``
(one ``/a/abbey/sun_....jpg`` per line; 50 images per class each: 19,850 / 19,850).
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

SPLITS = ("train", "test")
OFFICIAL_VAL = False
PARTITION = {"train": "Training_{:02d}.txt", "test": "Testing_{:02d}.txt"}


def _partition_file(root: Path, split: str, partition: int) -> Path:
    name = PARTITION[split].format(partition)
    for candidate in (root / "Partitions" / name, root / "Partitions" / "Partitions" / name):
        if candidate.exists():
            return candidate
    return root / "Partitions" / name


def load(
    task: Any, split: str, root: str | Path, fold: int | None = None, partition: int = 1
) -> LazyDataset:
    """SUN397 ``split`` of partition ``partition`` (1..10; the paper uses 1)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    root = Path(root)
    names = root / "SUN397" / "ClassName.txt"
    listing = _partition_file(root, split, partition)
    require(task, names, listing)
    classes = read_lines(names)
    check_num_classes(task, len(classes), names)
    index = {c: i for i, c in enumerate(classes)}
    files, labels = [], []
    for line in read_lines(listing):
        cls = line.rsplit("/", 1)[0]
        if cls not in index:
            raise missing(task, f"{names} (class {cls!r} of {listing})")
        files.append(root / "SUN397" / line.lstrip("/"))
        labels.append(index[cls])
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, partition: int = 1, **_: Any) -> bool:
    root = Path(root)
    return (root / "SUN397" / "ClassName.txt").exists() and all(
        _partition_file(root, s, partition).exists() for s in SPLITS
    )


download = download_files  # the task file's source.files, into the task's folder
