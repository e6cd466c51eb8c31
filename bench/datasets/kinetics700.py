"""Kinetics-700, one image per clip: its middle frame.

On disk (the layout torchvision's ``Kinetics(num_classes="700", download=True)`` builds):
``{train,val}/<class>/<youtube id>_<start>_<end>.mp4`` where ``<class>`` is the class name
with spaces as ``_`` and without quotes or parentheses. Labels are matched to the task's
class names by that same normalisation. ``train`` = the train clips present (the paper: 494,801),
``test`` = the validation clips present (the paper: 31,669); YouTube removals make the exact
counts depend on when the clips were fetched.

The middle frame is decoded with PyAV; pre-extracted frames are used instead where present:
``frames/{train,val}/<class>/<clip>.jpg``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    class_folders,
    index_by_name,
    missing,
    task_name,
)
from bench.datasets._video import middle_frames

SPLITS = ("train", "test")
OFFICIAL_VAL = False
FOLDER = {"train": "train", "test": "val"}
VIDEO_SUFFIXES = (".mp4", ".webm", ".mkv", ".avi")


def folder_name(classname: str) -> str:
    """torchvision's folder name for a Kinetics class name."""
    return classname.replace(" ", "_").replace("'", "").replace("(", "").replace(")", "")


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Kinetics-700 ``split`` (``test`` = the validation clips)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    root = Path(root)
    base = root / FOLDER[split]
    if not base.is_dir():
        raise missing(task, base)
    by_folder = {folder_name(c): c for c in getattr(task, "classnames", ())}
    folders = class_folders(base)
    unknown = [f for f in folders if f not in by_folder]
    if unknown:
        raise missing(task, f"{base} (folders {unknown[:3]} are not {task_name(task)} classes)")
    positions = index_by_name(task, [by_folder[f] for f in folders], str(base))
    clips, labels = [], []
    for folder, label in zip(folders, positions, strict=True):
        found = sorted(p for p in (base / folder).iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        clips.extend(found)
        labels.extend([label] * len(found))
    frames = root / "frames" / FOLDER[split]
    frame_files = [frames / c.parent.name / c.with_suffix(".jpg").name for c in clips]
    return LazyDataset(labels, partial(middle_frames, clips, frame_files), [str(c) for c in clips])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    return all((Path(root) / f).is_dir() for f in FOLDER.values())
