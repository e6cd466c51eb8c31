"""UCF101 (101 actions), one image per clip: its middle frame. Split 1 of the official three.

On disk: ``UCF-101/<Class>/v_<Class>_gNN_cNN.avi`` (from ``UCF101.rar``) and
``ucfTrainTestlist/{classInd.txt,trainlist01.txt,testlist01.txt}`` (from the split zip);
label = ``classInd`` - 1. ``train`` = trainlist01 (9,537), ``test`` = testlist01 (3,783;
the paper's Table 9 says 1,794, which no official list gives).

The middle frame (index ``n // 2``) is decoded with PyAV. Pre-extracted frames are used
instead where present: ``frames/<Class>/v_..._cNN.jpg`` (the clip's path with ``.jpg``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    manual_text,
    missing,
    read_lines,
    require,
)
from bench.datasets._download import download_resources, resources
from bench.datasets._video import middle_frames

SPLITS = ("train", "test")
OFFICIAL_VAL = False
LISTS = {"train": "trainlist{:02d}.txt", "test": "testlist{:02d}.txt"}


def load(
    task: Any, split: str, root: str | Path, fold: int | None = None, split_id: int = 1
) -> LazyDataset:
    """UCF101 ``split`` of official split ``split_id`` (1..3; the paper uses 1)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    root = Path(root)
    lists = root / "ucfTrainTestlist"
    listing = lists / LISTS[split].format(split_id)
    require(task, lists / "classInd.txt", listing)
    if not (root / "UCF-101").is_dir():
        raise missing(task, root / "UCF-101")
    index = {}
    for line in read_lines(lists / "classInd.txt"):
        number, name = line.split()
        index[name] = int(number) - 1
    clips, labels = [], []
    for line in read_lines(listing):
        rel = line.split()[0]
        clips.append(rel)
        labels.append(index[rel.split("/")[0]])
    videos = [root / "UCF-101" / c for c in clips]
    frames = [root / "frames" / Path(c).with_suffix(".jpg") for c in clips]
    return LazyDataset(labels, partial(middle_frames, videos, frames), [str(v) for v in videos])


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    root = Path(root)
    return (root / "UCF-101").is_dir() and (root / "ucfTrainTestlist" / "classInd.txt").exists()


def download(task: Any, root: str | Path, **_: Any) -> None:
    download_resources(root, resources(task))
    if not (Path(root) / "UCF-101").is_dir():
        print(f"ucf101: the videos must be fetched by hand: {manual_text(task)}")
