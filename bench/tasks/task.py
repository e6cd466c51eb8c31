"""The :class:`Task` type: one evaluation dataset as the paper defines it.

A task is read from ``tasks/<name>.yaml`` (see :mod:`bench.tasks.schema`) into a frozen object.
``task.dataset(split)`` asks the task's loader (``bench.datasets.<loader>``) for the data and,
where the source has no official validation split, carves one from ``train`` so that ``train``
and ``val`` are disjoint and together form the paper's training set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bench.errors import BenchError

DATASET_SPLITS = ("train", "val", "test")
MIRROR_FOLDER = "hf-mirror"  # under the task's data folder: `bench download TASK --source hf`
MIRROR_AGREEMENT = ("same", "differs", "unknown")  # a mirror split against the paper's
DATA_SOURCES = ("official", "hf-mirror")


@dataclass(frozen=True)
class ValSpec:
    """Where the linear probe's validation split comes from.

    Attributes:
        official: True when the source ships a validation split (the loader yields
            ``split="val"``); False when it is carved from the loader's ``train`` by a seeded,
            class-stratified split (:func:`bench.datasets._splits.stratified_split`).
        size: Number of validation examples.
        seed: Seed of the carve (unused when official).
        within_train: Whether the paper's ``splits["train"]`` count includes the validation
            examples. True everywhere except Country211, whose official ``valid`` folder is not
            part of Table 9's 42,200 training images.
    """

    official: bool
    size: int
    seed: int = 0
    within_train: bool = True


@dataclass(frozen=True)
class FileSpec:
    """One file that ``bench download`` fetches for a task (an entry of ``source.files``).

    Attributes:
        url: Where it is published (``http://``, ``https://`` or ``file://``).
        filename: Its name in the folder the loader downloads into (no path separators).
        checksum: ``"md5:<32 hex>"`` or ``"sha256:<64 hex>"`` as published, or None where
            none is published (then the sha256 of what was fetched is printed).
        extract: Whether to unpack the archive after verifying it.
        extract_to: Sub-folder to unpack into ("" for the download folder itself).
    """

    url: str
    filename: str
    checksum: str | None
    extract: bool = True
    extract_to: str = ""


@dataclass(frozen=True)
class Source:
    """Where a task's data comes from (the ``source:`` block, which the loaders read).

    Attributes:
        loader: Module name in ``bench.datasets``.
        options: Keyword arguments passed to the loader's ``load``, ``is_present`` and
            ``download``.
        homepage: The dataset's home page.
        manual: Steps to obtain the data by hand, or None where ``bench download`` fetches it.
        files: The files ``bench download`` fetches and verifies (the one place for a
            task's download URLs and checksums; a loader builds its downloads from them).
    """

    loader: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    homepage: str | None = None
    manual: str | None = None
    files: tuple[FileSpec, ...] = ()


@dataclass(frozen=True)
class Mirror:
    """A maintained copy of the dataset (CLIP_benchmark's webdataset shards on the HF hub).

    Attributes:
        repo: The Hugging Face dataset repository, e.g. ``clip-benchmark/wds_vtab-cifar10``.
        splits: For each split the mirror holds (a loader split: ``train``, ``val``,
            ``test``), whether it equals the paper's: ``same``, ``differs`` or ``unknown``.
        notes: How a split differs, or why it is not known (required unless all are ``same``).
    """

    repo: str
    splits: Mapping[str, str]
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"repo": self.repo, "splits": dict(self.splits), "notes": self.notes}


@dataclass(frozen=True)
class Task:
    """One evaluation task, exactly as its task file says.

    Attributes:
        name: Canonical name (the file's stem), e.g. ``"cifar10"``.
        title: Human-readable title.
        version: Bumped whenever anything that changes results changes.
        tags: Suites the task belongs to (``paper27``, ``shifts``, ``embedded``).
        metric: A :mod:`bench.metrics` name.
        multilabel: Labels are multi-hot tensors (voc2007).
        class_prompts: For each class, all of its names (FER2013 has several for some
            classes); zero-shot averages the embeddings of every name of a class.
        templates: Prompt templates, each with one ``{}``.
        splits: The paper's Table 9 sizes (``train`` is the train+val union; shifts have only
            ``test``).
        source_splits: The sizes our source yields where they differ from ``splits``
            (else equal to ``splits``).
        val: Where the validation split comes from, or None for test-only tasks.
        probe_folds: 1, or 10 for STL-10's predefined training folds.
        imagenet_pool: Shifts only: per class, the ImageNet indices whose logits are
            max-pooled (an empty tuple means the class gets ``-inf``); None elsewhere.
        source: The loader and its options.
        citation: How to cite the dataset.
        licence: The dataset's licence or terms of use.
        notes: Where our split or source differs from the paper's, and why.
        config_hash: sha256 of the task file's bytes.
        mirror: The dataset's maintained mirror, or None.
        origin: ``"built-in"``, or the path of a user's task file (``--tasks-dir``).
        kind: ``classification`` (classes and templates) or ``retrieval`` (no classes: the
            loader's dataset has ``.captions``, each image's captions; zero-shot image-text
            retrieval, ``--suite retrieval``).
    """

    name: str
    title: str
    version: int
    tags: tuple[str, ...]
    metric: str
    multilabel: bool
    class_prompts: tuple[tuple[str, ...], ...]
    templates: tuple[str, ...]
    splits: Mapping[str, int]
    source_splits: Mapping[str, int]
    val: ValSpec | None
    probe_folds: int
    imagenet_pool: tuple[tuple[int, ...], ...] | None
    source: Source
    citation: str
    licence: str
    notes: str
    config_hash: str
    mirror: Mirror | None = None
    origin: str = "built-in"
    kind: str = "classification"

    def __hash__(self) -> int:  # the file's hash identifies the task; mappings are unhashable
        return hash((self.name, self.config_hash))

    def __repr__(self) -> str:
        return f"Task({self.name!r}, version={self.version}, config_hash={self.config_hash[:12]!r})"

    @property
    def classnames(self) -> tuple[str, ...]:
        """The first (main) name of each class; see :attr:`class_prompts` for all names."""
        return tuple(names[0] for names in self.class_prompts)

    @property
    def num_classes(self) -> int:
        return len(self.class_prompts)

    def expected_sizes(self) -> dict[str, int]:
        """How many examples ``dataset(split)`` should yield for each available split.

        Computed from :attr:`source_splits` and :attr:`val`; for STL-10 the ``train`` and
        ``val`` sizes are per fold.
        """
        sizes: dict[str, int] = {"test": self.source_splits["test"]}
        if "train" in self.source_splits and self.val is not None:
            train = self.source_splits["train"]
            sizes["train"] = train - self.val.size if self.val.within_train else train
            sizes["val"] = self.val.size
        return {s: sizes[s] for s in DATASET_SPLITS if s in sizes}

    def data_root(self, root: str | os.PathLike[str] | None = None) -> os.PathLike[str]:
        """The folder of this task's data: ``data_root(root) / name``."""
        from bench.io import data_root

        return data_root(root) / self.name

    def is_present(self, root: str | os.PathLike[str] | None = None) -> bool:
        """Whether this task's data is under ``data_root(root) / name``, official or mirror.

        Raises:
            UnknownNameError: if the task's loader module does not exist.
        """
        loader = _loader(self.source.loader)
        if loader.is_present(self, self.data_root(root), **self.loader_options(loader)):
            return True
        return self._mirror_present(root)

    def _mirror_present(self, root: str | os.PathLike[str] | None) -> bool:
        if self.mirror is None:
            return False
        return bool(_loader("wds").is_present(self, self.mirror_root(root)))

    def mirror_root(self, root: str | os.PathLike[str] | None = None) -> os.PathLike[str]:
        """Where ``bench download NAME --source hf`` puts the mirror's shards."""
        return self.data_root(root) / MIRROR_FOLDER

    def data_source(self, root: str | os.PathLike[str] | None = None) -> str:
        """Which copy :meth:`dataset` reads: ``"official"`` or ``"hf-mirror"``.

        The official layout wins when both are present; the mirror is read only when the
        official layout is absent (so a missing dataset reports the official steps).
        """
        loader = _loader(self.source.loader)
        if loader.is_present(self, self.data_root(root), **self.loader_options(loader)):
            return "official"
        return "hf-mirror" if self._mirror_present(root) else "official"

    def _reader(self, root: str | os.PathLike[str] | None, split: str) -> tuple[Any, Any, dict]:
        """The loader module, its folder and options for ``split`` of the copy in use."""
        if self.data_source(root) == "official":
            loader = _loader(self.source.loader)
            return loader, self.data_root(root), self.loader_options(loader)
        assert self.mirror is not None  # data_source says the mirror is there
        if split not in self.mirror.splits:
            from bench.errors import DataMissingError

            raise DataMissingError(
                f"task {self.name!r}: the official data is not at {self.data_root(root)} and "
                f"its mirror {self.mirror.repo} has no {split!r} split (it has "
                f"{', '.join(self.mirror.splits)}); get the official data: "
                f"`bench download {self.name}` or its manual steps"
            )
        return _loader("wds"), self.mirror_root(root), {}

    def dataset(
        self, split: str, root: str | os.PathLike[str] | None = None, fold: int | None = None
    ):
        """The examples of ``split``: ``(PIL.Image RGB, label)`` items with ``.labels``.

        The official layout is read where present, else the Hugging Face mirror's shards
        (:meth:`data_source` says which).

        Args:
            split: ``"train"``, ``"val"`` or ``"test"``. ``train`` and ``val`` are disjoint; the
                validation split is the source's official one where it exists, else a seeded,
                class-stratified carve from the source's training set.
            root: Data root override (``--data-root``); default ``$BENCH_DATA``.
            fold: STL-10's training fold (0-9) for ``train``/``val``; None elsewhere.

        Returns:
            A dataset with ``__len__``, ``__getitem__`` and ``.labels``.

        Raises:
            BenchError: for a split or fold this task does not have.
            DataMissingError: if the data is not on disk (raised by the loader).
        """
        self._check_split(split, fold)
        carve = not (split == "test" or self.val is None or self.val.official)
        loader, where, opts = self._reader(root, "train" if carve else split)
        if not carve:
            return loader.load(self, split, where, fold=fold, **opts)
        from bench.datasets._splits import IndexView, stratified_split

        full = loader.load(self, "train", where, fold=fold, **opts)
        if not 0 < self.val.size < len(full):
            from bench.errors import DataMissingError

            raise DataMissingError(
                f"task {self.name!r}: cannot carve its {self.val.size}-example val split from "
                f"the {len(full)} training examples found under {where}; the training data is "
                f"incomplete: fetch it again (`bench download {self.name}` or its manual steps)"
            )
        rest, carved = stratified_split(full.labels, self.val.size, self.val.seed)
        return IndexView(full, carved if split == "val" else rest)

    def loader_options(self, loader: Any = None) -> dict[str, Any]:
        """``source.options``, checked against the loader's keywords (a typo is a BenchError)."""
        from bench.datasets import checked_options

        return checked_options(
            loader or _loader(self.source.loader), self.source.options, self.name
        )

    def _check_split(self, split: str, fold: int | None) -> None:
        available = tuple(self.expected_sizes())
        if split not in available:
            raise BenchError(
                f"task {self.name!r} has no split {split!r}; valid splits: {', '.join(available)}"
            )
        if split != "test" and self.probe_folds > 1:
            if fold is None or not 0 <= fold < self.probe_folds:
                raise BenchError(
                    f"task {self.name!r} has {self.probe_folds} predefined training folds; "
                    f"pass fold=0..{self.probe_folds - 1} (got {fold!r})"
                )
        elif fold is not None and split != "test":
            raise BenchError(
                f"task {self.name!r} has no training folds; pass fold=None (got {fold!r})"
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary of the task (for ``bench tasks --json`` and result files)."""
        return {
            "name": self.name,
            "title": self.title,
            "kind": self.kind,
            "version": self.version,
            "config_hash": self.config_hash,
            "tags": list(self.tags),
            "metric": self.metric,
            "multilabel": self.multilabel,
            "num_classes": self.num_classes,
            "classes": [list(n) if len(n) > 1 else n[0] for n in self.class_prompts],
            "templates": list(self.templates),
            "splits": dict(self.splits),
            "source_splits": dict(self.source_splits),
            "sizes": self.expected_sizes(),
            "val": None if self.val is None else vars(self.val).copy(),
            "probe_folds": self.probe_folds,
            "imagenet_pool": None
            if self.imagenet_pool is None
            else [list(p) for p in self.imagenet_pool],
            "source": {
                "loader": self.source.loader,
                "options": dict(self.source.options),
                "homepage": self.source.homepage,
                "manual": self.source.manual,
                "files": [vars(f).copy() for f in self.source.files],
            },
            "citation": self.citation,
            "licence": self.licence,
            "notes": self.notes,
            "mirror": None if self.mirror is None else self.mirror.to_dict(),
            "origin": self.origin,
        }


def _loader(name: str):
    from bench.datasets import get_loader

    return get_loader(name)


__all__ = [
    "DATASET_SPLITS",
    "DATA_SOURCES",
    "MIRROR_AGREEMENT",
    "MIRROR_FOLDER",
    "FileSpec",
    "Mirror",
    "Source",
    "Task",
    "ValSpec",
]
