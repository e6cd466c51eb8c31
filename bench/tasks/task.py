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


@dataclass(frozen=True)
class ValSpec:
    """Where the linear probe's validation split comes from.

    Attributes:
        official: True when the source ships a validation split (the loader yields
            ``split="val"``); False when it is carved from the loader's ``train`` by a seeded,
            class-stratified split (:func:`bench.tasks.splits.stratified_split`).
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
    """One file that a loader downloads, with its checksum(s)."""

    url: str
    sha256: str | None = None
    md5: str | None = None
    filename: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Source:
    """Where a task's data comes from (the ``source:`` block, owned by the loaders).

    Attributes:
        loader: Module name in ``bench.datasets``.
        options: Keyword arguments passed to the loader's ``load``, ``is_present`` and
            ``download``.
        homepage: The dataset's home page.
        manual: Steps to obtain the data by hand, or None where ``bench download`` fetches it.
        files: Files to download, with their checksums.
    """

    loader: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    homepage: str | None = None
    manual: str | None = None
    files: tuple[FileSpec, ...] = ()


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
        """Whether the loader finds this task's data under ``data_root(root) / name``.

        Raises:
            UnknownNameError: if the task's loader module does not exist.
        """
        loader = _loader(self)
        return bool(loader.is_present(self, self.data_root(root), **self.loader_options(loader)))

    def dataset(
        self, split: str, root: str | os.PathLike[str] | None = None, fold: int | None = None
    ):
        """The examples of ``split``: ``(PIL.Image RGB, label)`` items with ``.labels``.

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
        loader = _loader(self)
        where = self.data_root(root)
        opts = self.loader_options(loader)
        if split == "test" or self.val is None or self.val.official:
            return loader.load(self, split, where, fold=fold, **opts)
        from bench.tasks.splits import IndexView, stratified_split

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

        return checked_options(loader or _loader(self), self.source.options, self.name)

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
        }


def _loader(task: Task):
    from bench.datasets import get_loader

    return get_loader(task.source.loader)


__all__ = ["DATASET_SPLITS", "FileSpec", "Source", "Task", "ValSpec"]
