"""Stanford Cars (196 classes) in the original release's format.

On disk (torchvision's layout): ``devkit/cars_meta.mat`` (``class_names``, the label order),
``devkit/cars_train_annos.mat`` and ``cars_test_annos_withlabels.mat`` (struct array
``annotations`` with ``bbox_x1..y2``, ``class`` 1..196 and ``fname``), and the images in
``cars_train/`` and ``cars_test/``. Train 8,144 / test 8,041; no official validation.
The whole image is used, as in the paper (not the bounding box).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.datasets._common import LazyDataset, check_fold, check_split, file_dataset, missing
from bench.errors import DataMissingError

SPLITS = ("train", "test")
OFFICIAL_VAL = False
FILES = {
    "train": ("devkit/cars_train_annos.mat", "cars_train"),
    "test": ("cars_test_annos_withlabels.mat", "cars_test"),
}


def _annotations(path: Path) -> list[tuple[str, int]]:
    from scipy.io import loadmat

    try:
        rows = loadmat(path, squeeze_me=True)["annotations"]
        return [(str(r["fname"]), int(r["class"]) - 1) for r in rows.reshape(-1)]
    except (ValueError, KeyError, OSError) as e:
        raise DataMissingError(f"cannot read annotations from {path}: {e}; get it again") from e


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Stanford Cars ``split``; label = ``class`` - 1."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    root = Path(root)
    annos, images = (root / p for p in FILES[split])
    for path in (annos, images):
        if not path.exists():
            raise missing(task, path)
    rows = _annotations(annos)
    return file_dataset([images / f for f, _ in rows], [c for _, c in rows])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return all((Path(root) / a).exists() for a, _ in FILES.values())
