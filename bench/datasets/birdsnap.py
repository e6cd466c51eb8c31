"""Birdsnap (500 North American bird species), fetched image by image from its URL list.

On disk: ``birdsnap/species.txt`` (tab-separated ``id common scientific dir``; label = id - 1,
the species in alphabetical order), ``birdsnap/images.txt`` (tab-separated ``url md5 path
species_id ...``), ``birdsnap/test_images.txt`` (header ``path``, then one path per line) and
the images at ``birdsnap/download/images/<path>`` (where the authors' ``get_birdsnap.py``
puts them). ``test`` = the listed test images that are on disk, ``train`` = all other
images on disk. Many Flickr URLs are dead, so the counts depend on what could be fetched
(the paper had 42,283 / 2,149 of the 47,386 / 2,443 listed).

``bench download birdsnap`` fetches the metadata archive, then every image with the md5 of
``images.txt`` (a mismatch is refused); images that cannot be fetched are counted and skipped.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    file_dataset,
    read_lines,
    require,
)
from bench.datasets._download import download_resources, fetch, resources
from bench.errors import ChecksumError, DataMissingError

SPLITS = ("train", "test")
OFFICIAL_VAL = False


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def load(task: Any, split: str, root: str | Path, fold: int | None = None) -> LazyDataset:
    """Birdsnap ``split``: the listed images of that split that are on disk."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    base = Path(root) / "birdsnap"
    require(task, base / "images.txt", base / "test_images.txt")
    test = set(read_lines(base / "test_images.txt")[1:])  # after the "path" header
    files, labels = [], []
    for row in _rows(base / "images.txt"):
        if (row["path"] in test) != (split == "test"):
            continue
        path = base / "download" / "images" / row["path"]
        if path.exists():
            files.append(path)
            labels.append(int(row["species_id"]) - 1)
    if not files:
        raise DataMissingError(
            f"birdsnap: no {split} image under {base / 'download' / 'images'}; run "
            "`bench download birdsnap` (it fetches each image from its Flickr URL)"
        )
    return file_dataset(files, labels)


def is_present(task: Any, root: str | Path, **_: Any) -> bool:
    base = Path(root) / "birdsnap"
    return (base / "images.txt").exists() and (base / "download" / "images").is_dir()


def download(task: Any, root: str | Path, **_: Any) -> None:
    """Fetches the metadata archive, then each listed image (md5-checked)."""
    download_resources(root, resources(task))
    base = Path(root) / "birdsnap"
    failed = 0
    rows = _rows(base / "images.txt")
    for row in tqdm(rows, desc="birdsnap images", unit="img"):
        dest = base / "download" / "images" / row["path"]
        try:
            fetch(row["url"], dest, f"md5:{row['md5']}", timeout=20, progress=False)
        except (DataMissingError, ChecksumError):
            failed += 1
    print(f"birdsnap: {len(rows) - failed} of {len(rows)} images on disk ({failed} unavailable)")
