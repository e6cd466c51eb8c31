"""A generic loader for a plain dataset: one folder per class per split.

On disk, under the task's data folder (``<data root>/<task name>``)::

    train/<class folder>/*.jpg     (any of bench.datasets._common.IMAGE_SUFFIXES)
    val/<class folder>/...         (only with ``val: {official: true, ...}`` in the task file)
    test/<class folder>/...

Labels follow the task file's ``classes`` order, never the folders' sort order. A class's
folder is named as the class's (first) name, unless ``source.options.folders`` maps the class
name to its folder name (``folders: {"sea lion": sea_lion}``). A class may have no folder in a
split; a folder that is no class of the task is refused (it would silently drop images).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    class_folders,
    file_dataset,
    image_files,
    missing,
    task_name,
)
from bench.datasets._download import download_files
from bench.errors import BenchError

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True  # a val/ folder is read where the task file says val is official
LAYOUT = (  # the files this generic loader reads; a dataset's own steps: source.manual
    "put the images in one folder per class per split: <data root>/<task>/<split>/<class "
    "folder>/<image>, with <split> train, test (and val where the task's val is official), "
    "each class folder named as the class in the task file or mapped by source.options.folders"
)


def folder_map(task: Any, folders: Mapping[str, str] | None) -> dict[str, int]:
    """Folder name -> the task's class index.

    Raises:
        BenchError: ``folders`` names a class the task does not have, or two classes share
            a folder.
    """
    classnames = list(getattr(task, "classnames", ()))
    if folders is not None and not isinstance(folders, Mapping):
        raise BenchError(
            f"{task_name(task)}: source.options.folders must map class names to folder "
            f"names, got {folders!r}; write it as folders: {{class name: folder}}"
        )
    folders = dict(folders or {})
    unknown = [c for c in folders if c not in classnames]
    if unknown:
        raise BenchError(
            f"{task_name(task)}: source.options.folders names {unknown[:3]}, which are not "
            f"classes of the task; valid: the names in its classes list ({classnames[:5]}...)"
        )
    by_folder: dict[str, int] = {}
    for i, name in enumerate(classnames):
        folder = str(folders.get(name, name))
        if folder in by_folder:
            raise BenchError(
                f"{task_name(task)}: classes {classnames[by_folder[folder]]!r} and {name!r} "
                f"both use folder {folder!r}; give each class its own folder in "
                "source.options.folders"
            )
        by_folder[folder] = i
    return by_folder


def load(
    task: Any,
    split: str,
    root: str | os.PathLike[str],
    fold: int | None = None,
    folders: Mapping[str, str] | None = None,
) -> LazyDataset:
    """The images of ``split`` under ``root/<split>/<class folder>/``, in class order.

    Args:
        task: The task (its ``classnames`` give the label order).
        split: ``train``, ``val`` or ``test``.
        root: The task's data folder.
        fold: Must be None.
        folders: Optional class name -> folder name.

    Raises:
        DataMissingError: ``root/<split>`` is not there, or holds no image.
        BenchError: a folder that is no class of the task.
    """
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / split
    if not base.is_dir():
        raise missing(task, base, LAYOUT)
    index = folder_map(task, folders)
    strays = [f for f in class_folders(base) if f not in index]
    if strays:
        raise BenchError(
            f"{task_name(task)}: folder {base / strays[0]} is not a class of the task; valid "
            f"folders: {', '.join(list(index)[:8])}{' ...' if len(index) > 8 else ''}; add the "
            "class to the task file's classes (or map it in source.options.folders) or move it"
        )
    files: list[Path] = []
    labels: list[int] = []
    for folder, label in index.items():
        if (base / folder).is_dir():
            found = image_files(base / folder)
            files.extend(found)
            labels.extend([label] * len(found))
    if not files:
        raise missing(task, base, LAYOUT)
    return file_dataset(files, labels)


def is_present(task: Any, root: str | os.PathLike[str], **_: Any) -> bool:
    """Whether ``root/test`` holds class folders."""
    test = Path(root) / "test"
    return test.is_dir() and bool(class_folders(test))


download = download_files  # the task file's source.files, into the task's folder
