"""Hateful Memes (Facebook AI): 2 classes (0 = not hateful, 1 = hateful); image only.

On disk (the challenge zip, unpacked): ``img/<id>.png`` and JSON-lines files with
``{"id", "img", "label", "text"}`` per line, in the task folder or in its ``data/`` or
``hateful_memes/`` sub-folder. ``train`` = ``train.jsonl`` (8,500) and ``test`` =
``dev_seen.jsonl`` (500; ``dev.jsonl`` of the first release holds the same 500), as in the
paper. The text is not used (the images show it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.datasets._common import LazyDataset, check_fold, check_split, file_dataset, missing
from bench.errors import DataMissingError

SPLITS = ("train", "test")
OFFICIAL_VAL = False
LISTS = {"train": ("train.jsonl",), "test": ("dev_seen.jsonl", "dev.jsonl")}


def _base(root: Path) -> Path | None:
    for base in (root, root / "data", root / "hateful_memes"):
        if (base / "train.jsonl").exists():
            return base
    return None


def _read(path: Path) -> tuple[list[Path], list[int]]:
    files, labels = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                files.append(path.parent / row["img"])
                labels.append(int(row["label"]))
            except (json.JSONDecodeError, KeyError, ValueError) as e:
                raise DataMissingError(f"{path}:{number}: bad line ({e}); unzip it again") from e
    return files, labels


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Hateful Memes ``split``."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = _base(Path(root))
    if base is None:
        raise missing(task, Path(root) / "train.jsonl")
    for name in LISTS[split]:
        if (base / name).exists():
            return file_dataset(*_read(base / name))
    raise missing(task, base / LISTS[split][0])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    base = _base(Path(root))
    return base is not None and any((base / n).exists() for n in LISTS["test"])
