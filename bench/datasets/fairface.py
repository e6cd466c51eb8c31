"""FairFace (Kärkkäinen and Joo, 2021), its validation set in the official layout.

On disk (``fairface-img-margin025-trainval.zip`` and ``fairface_label_val.csv`` from the
FairFace repository, unpacked side by side)::

    <root>/fairface_label_val.csv     # file,age,gender,race,service_test
    <root>/val/1.jpg ...              # 10,954 face crops (margin 0.25)

The validation set is the task's ``test`` split (the paper probes the validation images).
Items are ``(image, race index)`` (the task's classes are :data:`RACES` in this order); the
dataset also carries ``.race``, ``.gender`` and ``.age`` (int64 arrays, one index per item into
:data:`RACES`, :data:`GENDERS`, :data:`AGES`), read from the CSV without decoding images, and
names them in ``.side_fields`` so that :class:`bench.features.SplitFeatures` carries them in
``side``, aligned with the feature rows.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets._common import LazyDataset, check_fold, check_split, file_dataset, require
from bench.errors import DataMissingError

SPLITS = ("test",)
OFFICIAL_VAL = False
LABELS_CSV = "fairface_label_val.csv"
RACES = (
    "White",
    "Black",
    "Latino_Hispanic",
    "East Asian",
    "Southeast Asian",
    "Indian",
    "Middle Eastern",
)
GENDERS = ("Male", "Female")
AGES = ("0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70")
COLUMNS = ("file", "age", "gender", "race")
#: The per-item attributes a loaded dataset carries (``side_fields``).
ATTRIBUTES = ("race", "gender", "age")


def _index(value: str, allowed: tuple[str, ...], column: str, where: str, line: int) -> int:
    if value not in allowed:
        raise DataMissingError(
            f"{where} line {line}: {column} {value!r} is not a FairFace {column} (valid: "
            f"{', '.join(allowed)}); put FairFace's own fairface_label_val.csv there, unedited"
        )
    return allowed.index(value)


def read_labels(path: Path) -> list[dict[str, Any]]:
    """Rows of ``fairface_label_val.csv`` as ``{file, race, gender, age}`` (indices).

    Raises:
        DataMissingError: a missing column or a value outside FairFace's categories.
    """
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing_cols = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing_cols:
                raise DataMissingError(
                    f"{path} has no column(s) {', '.join(missing_cols)} (found "
                    f"{', '.join(reader.fieldnames or [])}); use FairFace's fairface_label_val.csv"
                )
            rows = []
            for line, row in enumerate(reader, start=2):
                rows.append(
                    {
                        "file": row["file"],
                        "race": _index(row["race"], RACES, "race", str(path), line),
                        "gender": _index(row["gender"], GENDERS, "gender", str(path), line),
                        "age": _index(row["age"], AGES, "age", str(path), line),
                    }
                )
    except UnicodeDecodeError as e:
        raise DataMissingError(f"{path} is not UTF-8 text ({e}); use FairFace's CSV") from e
    return rows


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """FairFace's validation images as the ``test`` split."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    root = Path(root)
    require(task, root / LABELS_CSV, root / "val")
    rows = read_labels(root / LABELS_CSV)
    ds = file_dataset([root / r["file"] for r in rows], [r["race"] for r in rows])
    for name in ATTRIBUTES:
        setattr(ds, name, np.array([r[name] for r in rows], dtype=np.int64))
    ds.side_fields = ATTRIBUTES
    return ds


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    root = Path(root)
    return (root / LABELS_CSV).is_file() and (root / "val").is_dir()
