"""Dataset loaders: one module per source format, selected by a task file's ``source.loader``.

A loader module ``bench.datasets.<loader>`` defines
``load(task, split, root, fold=None, **options) -> torch.utils.data.Dataset`` yielding
``(PIL.Image (RGB), label)``, ``is_present(task, root, **options)``, and may define
``download(task, root, **options)``. A dataset that cannot be fetched automatically says how
to get it by hand in its task file's ``source.manual`` (the one place for it; loaders read it
through :func:`bench.datasets._common.missing`); a generic loader (``imagefolder``, ``csv``,
``wds``) describes the files it reads in ``LAYOUT``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from bench.errors import BenchError
from bench.registry import Registry


def loader_names() -> list[str]:
    """The loader modules that exist in this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def get_loader(name: str) -> ModuleType:
    """Imports the loader module ``name``.

    Raises:
        UnknownNameError: with close matches if there is no such loader.
    """
    if name not in loader_names():
        registry: Registry[str] = Registry("dataset loader", "bench tasks")
        for known in loader_names():
            registry.register(known, known)
        registry.canonical(name)  # raises with close matches
    return importlib.import_module(f"bench.datasets.{name}")


_FIXED_PARAMS = ("task", "split", "root", "fold")


def checked_options(loader: ModuleType, options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``options`` (a task file's ``source.options``), checked against ``loader.load``'s keywords.

    Args:
        loader: The loader module.
        options: The options to pass to ``load``, ``is_present`` and ``download``.
        where: The task's name, for the message.

    Raises:
        BenchError: naming the unknown option and the loader's valid ones.
    """
    params = inspect.signature(loader.load).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(options)
    valid = [n for n in params if n not in _FIXED_PARAMS]
    for key in options:
        if key not in valid:
            loader_name = loader.__name__.rsplit(".", 1)[-1]
            raise BenchError(
                f"task {where!r}: unknown source.options key {key!r} for loader {loader_name!r}; "
                f"valid options: {', '.join(valid) or 'none'}; fix the task file"
            )
    return dict(options)
