"""ImageNet class metadata and the folder-of-wnids reader shared by ImageNet and its shifts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    file_dataset,
    image_files,
    missing,
    task_name,
)
from bench.errors import BenchError, DataMissingError


def read_data(name: str) -> Any:
    """A JSON file from ``bench/datasets/data/``."""
    return json.loads(resources.files("bench.datasets").joinpath("data", name).read_text("utf-8"))


@cache
def imagenet_wnids() -> tuple[str, ...]:
    """The 1,000 ILSVRC-2012 wnids in the standard class-index order."""
    table = read_data("imagenet_classes.json")
    return tuple(table[str(i)][0] for i in range(1000))


@cache
def wnid_index() -> dict[str, int]:
    return {w: i for i, w in enumerate(imagenet_wnids())}


def task_positions(task: Any, pools: Sequence[tuple[int, ...]]) -> list[int]:
    """The task's class index of each source class, given its ImageNet indices.

    A shift task carries ``imagenet_pool`` (per class, the ImageNet indices pooled into it).
    Each source class is matched to the task class whose pool is the same set of ImageNet
    indices, so the task file may order its classes freely. Without pools (or for a task
    whose pools do not identify the classes) the source order is used as is.

    Raises:
        BenchError: the task's pools do not contain one of the source classes.
    """
    task_pools = getattr(task, "imagenet_pool", None) or ()
    if not task_pools:
        return list(range(len(pools)))
    by_set = {frozenset(p): k for k, p in enumerate(task_pools) if p}
    positions = []
    for pool in pools:
        key = frozenset(pool)
        if key not in by_set:
            raise BenchError(
                f"{task_name(task)}: no class of the task file pools ImageNet indices "
                f"{sorted(pool)}; its imagenet_pool does not match this dataset's classes"
            )
        positions.append(by_set[key])
    return positions


def wnid_folder_dataset(
    task: Any,
    base: Path,
    wnids: Sequence[str],
    labels: Sequence[int] | None = None,
    transform: Any = None,
) -> LazyDataset:
    """Images under ``base/<wnid>/`` for each of ``wnids``; label = position (or ``labels``).

    Raises:
        DataMissingError: ``base`` is missing, or holds none of the expected class folders.
    """
    if not base.is_dir():
        raise missing(task, base)
    files, out = [], []
    present = 0
    for k, wnid in enumerate(wnids):
        folder = base / wnid
        if not folder.is_dir():
            continue
        present += 1
        found = image_files(folder)
        files.extend(found)
        out.extend([labels[k] if labels is not None else k] * len(found))
    if not present:
        raise DataMissingError(
            f"{task_name(task)}: {base} holds none of the expected class folders "
            f"(e.g. {wnids[0]}); check the data root or download it again"
        )
    return file_dataset(files, out, transform)


@cache
def sublist_wnids(sublist_file: str) -> tuple[str, ...]:
    """The wnids of a 200-class sublist (ImageNet-R/-A), in ascending ImageNet index order."""
    index = wnid_index()
    return tuple(sorted(read_data(sublist_file)["wnids"], key=index.get))


def load_sublist_folder(task: Any, root: str | Path, folder: str, sublist_file: str) -> LazyDataset:
    """A ``<folder>/<wnid>/*.jpg`` test set of a class sublist, labelled in the task's class order.

    Each wnid is matched through its ImageNet index to the task class whose ``imagenet_pool``
    holds it (without pools: the sublist's ascending ImageNet-index order).
    """
    wnids = sublist_wnids(sublist_file)
    labels = task_positions(task, [(wnid_index()[w],) for w in wnids])
    return wnid_folder_dataset(task, Path(root) / folder, wnids, labels)
