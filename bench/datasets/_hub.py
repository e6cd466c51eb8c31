"""Fetching a task's mirror from the Hugging Face hub (``bench download TASK --source hf``).

CLIP_benchmark keeps webdataset copies of most of the paper's datasets as hub dataset
repositories (``clip-benchmark/wds_<name>``); a task file's ``mirror.repo`` names its one.
The snapshot goes to ``<data root>/<task>/hf-mirror/`` (``Task.mirror_root``), which
:mod:`bench.datasets.wds` reads when the official layout is absent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.datasets import wds
from bench.errors import BenchError, DataMissingError

EXTRA = "pip install 'bench[hf]'"


def _snapshot_download() -> Any:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise BenchError(
            f"--source hf needs the huggingface_hub package, which is not installed: {EXTRA}"
        ) from e
    return snapshot_download


def fetch_mirror(task: Any, target: str | os.PathLike[str], splits: Any = None) -> Path:
    """Downloads ``task.mirror.repo`` into ``target`` and checks it against the task.

    Args:
        task: The task (its ``mirror`` names the repository and splits).
        target: The folder to fill (``task.mirror_root(root)``).
        splits: The split folders to fetch (default: those the task file lists).

    Returns:
        ``target``.

    Raises:
        BenchError: the task has no mirror, ``huggingface_hub`` is missing, the download
            failed, or the mirror's class names differ from the task's.
    """
    mirror = getattr(task, "mirror", None)
    if mirror is None:
        raise BenchError(
            f"task {task.name!r} has no mirror (its task file has no mirror: block); "
            f"use `bench download {task.name}` (the official source)"
        )
    download = _snapshot_download()
    target = Path(target)
    wanted = list(splits or mirror.splits)
    patterns = [wds.CLASSNAMES_FILE, wds.TEMPLATES_FILE, *(f"{s}/*.tar" for s in wanted)]
    try:
        download(
            repo_id=mirror.repo, repo_type="dataset", local_dir=str(target), allow_patterns=patterns
        )
    except Exception as e:  # the hub client raises many kinds (HTTP, offline, not found)
        raise BenchError(
            f"download of {mirror.repo} to {target} failed: {type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''}; check the network and retry"
        ) from e
    if not wds.is_present(task, target):
        raise DataMissingError(
            f"{task.name}: {mirror.repo} gave no classnames.txt and test/*.tar under {target}; "
            "the mirror's layout changed: use the official data (`bench download "
            f"{task.name}`)"
        )
    wds.check_names(task, target)
    return target
