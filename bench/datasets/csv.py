"""A generic loader for a plain dataset listed in CSV files: one row per image.

On disk, under the task's data folder (``<data root>/<task name>``): ``train.csv``,
``test.csv`` (and ``val.csv`` where the task's val is official), or the files named in
``source.options.files`` (``{train: lists/train.csv, test: lists/test.csv}``). Each has a
header row with an image-path column (``image_column``, default ``image``) and a label
column (``label_column``, default ``label``). A relative image path is resolved against the
folder of its CSV file.

A label is the class's name by default (``label_by: name``: the first name of a class in the
task file's ``classes``, exactly as written there) or, with ``label_by: index``, its 0-based
position in that list. Any other value is refused with the row that holds it.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.datasets._common import LazyDataset, check_fold, check_split, file_dataset, missing
from bench.datasets._common import task_name as _name
from bench.datasets._download import download_files
from bench.errors import BenchError

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True  # val.csv is read where the task file says val is official
LABEL_BY = ("name", "index")
LAYOUT = (  # the files this generic loader reads; a dataset's own steps: source.manual
    "write one CSV file per split (<data root>/<task>/train.csv, test.csv, and val.csv where "
    "the task's val is official) with a header row, an image path column and a label column "
    "(the class name as in the task file, or its index with label_by: index)"
)


def _label(task: Any, value: str, label_by: str, where: str) -> int:
    classnames = list(getattr(task, "classnames", ()))
    if label_by == "index":
        if value.strip().isdigit() and int(value) < len(classnames):
            return int(value)
        raise BenchError(
            f"{_name(task)}: {where}: label {value!r} is not a class index; valid: 0.."
            f"{len(classnames) - 1} (label_by: index); fix the row"
        )
    try:
        return classnames.index(value)
    except ValueError:
        raise BenchError(
            f"{_name(task)}: {where}: label {value!r} is not a class of the task; valid: "
            f"{', '.join(classnames[:8])}{' ...' if len(classnames) > 8 else ''} (label_by: "
            "name); fix the row or the task's classes"
        ) from None


def _csv_path(task: Any, split: str, root: Path, files: Mapping[str, str] | None) -> Path:
    if files is not None and not isinstance(files, Mapping):
        raise BenchError(
            f"{_name(task)}: source.options.files must map splits to CSV files, got {files!r}"
        )
    return root / str((files or {}).get(split, f"{split}.csv"))


def load(
    task: Any,
    split: str,
    root: str | os.PathLike[str],
    fold: int | None = None,
    files: Mapping[str, str] | None = None,
    image_column: str = "image",
    label_column: str = "label",
    label_by: str = "name",
) -> LazyDataset:
    """The images listed in ``split``'s CSV file, with their labels.

    Raises:
        DataMissingError: the CSV file is not there.
        BenchError: a missing column, an unknown ``label_by``, or a label that is no class.
    """
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    if label_by not in LABEL_BY:
        raise BenchError(
            f"{_name(task)}: source.options.label_by {label_by!r}; valid: {', '.join(LABEL_BY)}"
        )
    path = _csv_path(task, split, Path(root), files)
    if not path.is_file():
        raise missing(task, path, LAYOUT)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        for column in (image_column, label_column):
            if column not in columns:
                raise BenchError(
                    f"{_name(task)}: {path} has no column {column!r}; its columns: "
                    f"{', '.join(columns) or 'none'}; set source.options image_column/label_column"
                )
        rows = list(reader)
    images = [path.parent / row[image_column] for row in rows]  # absolute paths stay as they are
    labels = [
        _label(task, row[label_column], label_by, f"{path} row {i + 2}")
        for i, row in enumerate(rows)
    ]
    return file_dataset(images, labels)


def is_present(
    task: Any, root: str | os.PathLike[str], files: Mapping[str, str] | None = None, **_: Any
) -> bool:
    """Whether the test split's CSV file is there."""
    return _csv_path(task, "test", Path(root), files).is_file()


download = download_files  # the task file's source.files, into the task's folder
