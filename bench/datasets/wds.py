"""WebDataset shards as CLIP_benchmark's Hugging Face mirrors hold them (``clip-benchmark/wds_*``).

On disk (a snapshot of the hub repository; ``bench download TASK --source hf`` puts it in
``<data root>/<task>/hf-mirror/``)::

    classnames.txt                            one class name per line, in label order
    zeroshot_classification_templates.txt     optional: one prompt template per line
    <split>/*.tar                             shards: per sample <key>.cls (the label, an
                                              integer as text) and <key>.jpg|.jpeg|.png|.webp

Samples are read in shard order (numeric where the names are numbers, ``2.tar`` before
``10.tar``) and member order within a shard. The mirror's class names must equal the task's
(first) names in the same order, and its templates, where present, the task's templates
(CLIP_benchmark writes ``{c}`` where we write ``{}``); any difference is refused, since the
labels would mean other classes. Also usable as a task file's ``source.loader: wds``.
"""

from __future__ import annotations

import os
import tarfile
from functools import partial
from pathlib import Path
from typing import Any

from bench.datasets._common import (
    LazyDataset,
    check_fold,
    check_split,
    image_from_bytes,
    missing,
    read_lines,
    task_name,
)
from bench.datasets._download import download_files
from bench.errors import BenchError, CorruptImageError

SPLITS = ("train", "val", "test")
OFFICIAL_VAL = True  # a val/ folder of shards is read where the task's val is official
CLASSNAMES_FILE = "classnames.txt"
TEMPLATES_FILE = "zeroshot_classification_templates.txt"
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
LAYOUT = (  # the files this generic loader reads; a dataset's own steps: source.manual
    "run `bench download <task> --source hf` to fetch its CLIP_benchmark mirror, or put "
    "webdataset shards in <data root>/<task>/<split>/*.tar (<key>.cls + <key>.jpg) beside a "
    "classnames.txt with one class name per line"
)


def _shard_order(path: Path) -> tuple[int, str]:
    stem = path.name[: -len(".tar")]
    return (int(stem), "") if stem.isdigit() else (1 << 62, path.name)


def shards(folder: str | os.PathLike[str]) -> list[Path]:
    """The ``*.tar`` files of a split folder, in sample order."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.name.endswith(".tar")), key=_shard_order)


def check_names(task: Any, root: Path) -> None:
    """Refuses a mirror whose class names or templates differ from the task's.

    Raises:
        DataMissingError: ``classnames.txt`` is missing.
        BenchError: the first class (or template) that differs, with both values.
    """
    path = root / CLASSNAMES_FILE
    if not path.is_file():
        raise missing(task, path, LAYOUT)
    pairs = [("class names", CLASSNAMES_FILE, read_lines(path), list(task.classnames))]
    if (root / TEMPLATES_FILE).is_file():
        theirs = [t.replace("{c}", "{}") for t in read_lines(root / TEMPLATES_FILE)]
        pairs.append(("templates", TEMPLATES_FILE, theirs, list(task.templates)))
    for what, name, theirs, ours in pairs:
        if theirs == ours:
            continue
        diffs = [i for i, (a, b) in enumerate(zip(theirs, ours, strict=False)) if a != b]
        i = diffs[0] if diffs else min(len(theirs), len(ours))
        got = theirs[i] if i < len(theirs) else "(end)"
        want = ours[i] if i < len(ours) else "(end)"
        raise BenchError(
            f"{task_name(task)}: {root / name} differs from the task's {what} at entry {i}: "
            f"{got!r}, the task has {want!r} ({len(theirs)} vs {len(ours)}); this copy is not "
            "the task's dataset in the task's class order: use the official data instead"
        )


def _index(task: Any, files: list[Path]) -> tuple[list[int], list[tuple[int, int, int]], list[str]]:
    """Per sample: label, (shard, data offset, size) of its image, and its name."""
    labels, where, names = [], [], []
    for s, shard in enumerate(files):
        samples: dict[str, dict[str, tarfile.TarInfo]] = {}
        with tarfile.open(shard) as tar:
            for member in tar:
                if member.isfile():
                    head, _, base = member.name.rpartition("/")
                    key, _, ext = base.partition(".")
                    samples.setdefault(f"{head}/{key}", {})[ext.lower()] = member
            for key, parts in samples.items():
                image = next((parts[e] for e in IMAGE_EXTENSIONS if e in parts), None)
                if "cls" not in parts or image is None:
                    raise BenchError(
                        f"{task_name(task)}: sample {key!r} in {shard} lacks a .cls label or "
                        f"an image ({', '.join(IMAGE_EXTENSIONS)}); the shard is not a "
                        "classification webdataset: fetch it again"
                    )
                labels.append(_cls(task, tar.extractfile(parts["cls"]).read(), key, shard))
                where.append((s, image.offset_data, image.size))
                names.append(f"{shard}:{image.name}")
    return labels, where, names


def _cls(task: Any, raw: bytes, key: str, shard: Path) -> int:
    text = raw.decode("utf-8", "replace").strip()
    if not text.isdigit() or int(text) >= task.num_classes:
        raise BenchError(
            f"{task_name(task)}: sample {key!r} in {shard} has label {text!r}; valid: 0.."
            f"{task.num_classes - 1}; the mirror does not match the task: fetch it again"
        )
    return int(text)


def _read(files: list[str], where: list[tuple[int, int, int]], names: list[str], i: int):
    shard, offset, size = where[i]
    try:
        with open(files[shard], "rb") as f:
            f.seek(offset)
            data = f.read(size)
    except OSError as e:
        raise CorruptImageError(names[i], str(e)) from e
    return image_from_bytes(data, names[i])


def load(
    task: Any, split: str, root: str | os.PathLike[str], fold: int | None = None
) -> LazyDataset:
    """The samples of ``root/<split>/*.tar``, labelled by their ``.cls``.

    Raises:
        DataMissingError: no shard for ``split``, or no ``classnames.txt``.
        BenchError: class names or templates that differ from the task's, a sample without
            label or image, a label out of range, or a multi-label task.
    """
    check_split(task, split, SPLITS)
    check_fold(task, fold)
    if getattr(task, "multilabel", False):
        raise BenchError(
            f"{task_name(task)} is multi-label; webdataset .cls labels are single-label: "
            "use the official data"
        )
    root = Path(root)
    files = shards(root / split)
    if not files:
        raise missing(task, root / split, LAYOUT)
    check_names(task, root)
    labels, where, names = _index(task, files)
    paths = [str(f) for f in files]
    return LazyDataset(labels, partial(_read, paths, where, names), names)


def is_present(task: Any, root: str | os.PathLike[str], **_: Any) -> bool:
    """Whether ``classnames.txt`` and shards of ``test`` are under ``root``."""
    return (Path(root) / CLASSNAMES_FILE).is_file() and bool(shards(Path(root) / "test"))


download = download_files  # the task file's source.files, into the task's folder
