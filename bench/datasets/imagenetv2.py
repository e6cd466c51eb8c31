"""ImageNetV2 matched-frequency (10,000 images, 1,000 classes).

On disk (the authors' archive): ``imagenetv2-matched-frequency-format-val/<class index>/
*.jpeg`` where the folder name is the ImageNet class index 0..999. Test only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    image_files,
    require,
)
from bench.datasets._download import download_files

SPLITS = ("test",)
OFFICIAL_VAL = False
FOLDER = "imagenetv2-matched-frequency-format-val"


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """ImageNetV2 ``test``; label = the folder's ImageNet index."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / FOLDER
    require(task, base)
    files, labels = [], []
    for index in range(1000):
        folder = base / str(index)
        if folder.is_dir():
            found = image_files(folder)
            files.extend(found)
            labels.extend([index] * len(found))
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return (Path(root) / FOLDER).is_dir()


download = download_files  # the task file's source.files, into the task's folder
