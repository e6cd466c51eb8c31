"""Dataset loaders: one module per source format, selected by a task file's ``source.loader``.

A loader module ``bench.datasets.<loader>`` defines
``load(task, split, root, fold=None, **options) -> torch.utils.data.Dataset`` yielding
``(PIL.Image (RGB), label)``, and may define ``download(task, root, **options)`` and
``MANUAL`` (steps for sources that cannot be fetched automatically).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

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
