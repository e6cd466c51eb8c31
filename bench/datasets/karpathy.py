"""Flickr30k and MSCOCO captions on Karpathy's splits (the paper's Table 13 retrieval).

On disk, Karpathy's split file beside the images::

    <root>/dataset_flickr30k.json + <root>/flickr30k-images/<filename>
    <root>/dataset_coco.json      + <root>/<filepath>/<filename>   (val2014/, train2014/)

Each entry of ``images`` has ``filename``, ``split`` (``train``, ``val``, ``test``,
``restval``) and ``sentences`` (``raw`` captions); COCO entries also ``filepath``. The
``test`` split is 1,000 images (Flickr30k) or 5,000 (COCO). Items are ``(image, index)``; the
dataset's ``.captions`` holds each image's first ``captions_per_image`` raw captions (5: a few
COCO images have 6 or 7, dropped as in the standard 5K/25K protocol).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.datasets._common import LazyDataset, check_fold, check_split, file_dataset, require
from bench.errors import DataMissingError

SPLITS = ("test", "val", "train")
OFFICIAL_VAL = True
VARIANTS = {
    "flickr30k": ("dataset_flickr30k.json", "flickr30k-images"),
    "coco": ("dataset_coco.json", None),
}


def _variant(variant: str) -> tuple[str, str | None]:
    if variant not in VARIANTS:
        raise DataMissingError(
            f"unknown Karpathy split variant {variant!r}; valid: {', '.join(VARIANTS)}"
        )
    return VARIANTS[variant]


def read_split(path: Path, split: str) -> list[dict[str, Any]]:
    """The entries of Karpathy's split file that belong to ``split`` (``val`` excludes
    ``restval``), in file order.

    Raises:
        DataMissingError: the file is not Karpathy's format.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        images = data["images"]
        chosen = [im for im in images if im["split"] == split]
        for im in chosen:
            im["filename"], im["sentences"][0]["raw"]  # noqa: B018 - format check
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, IndexError) as e:
        raise DataMissingError(
            f"{path} is not a Karpathy caption split file ({type(e).__name__}: {e}); use the "
            "dataset_*.json from Karpathy's caption_datasets.zip"
        ) from e
    return chosen


def load(
    task: Any,
    split: str,
    root: str | Path,
    fold: int | None = None,
    variant: str = "flickr30k",
    captions_per_image: int = 5,
) -> LazyDataset:
    """A Karpathy split: images with their captions (``.captions``)."""
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    filename, folder = _variant(variant)
    root = Path(root)
    require(task, root / filename)
    entries = read_split(root / filename, split)
    files = [root / (folder or im.get("filepath", "")) / im["filename"] for im in entries]
    ds = file_dataset(files, list(range(len(entries))))
    ds.captions = [
        [s["raw"].strip() for s in im["sentences"][:captions_per_image]] for im in entries
    ]
    short = [
        im["filename"]
        for im, c in zip(entries, ds.captions, strict=True)
        if len(c) < captions_per_image
    ]
    if short:
        raise DataMissingError(
            f"{root / filename}: {len(short)} {split} image(s) have fewer than "
            f"{captions_per_image} captions (e.g. {short[0]}); the file is not Karpathy's"
        )
    return ds


def is_present(task: Any, root: str | Path, variant: str = "flickr30k", **_: Any) -> bool:
    filename, folder = _variant(variant)
    root = Path(root)
    return (root / filename).is_file() and (folder is None or (root / folder).is_dir())
