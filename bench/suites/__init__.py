"""Suites: named task lists plus protocol settings, and the runner behind ``bench run``.

Every module of this package is imported here, and each suite module registers its suite in
:data:`SUITES`; a new suite is one new file. ``all`` runs every other suite, in their
``order``, except those registered with ``in_all=False`` (``bias``). The Python API (used by
``bench run`` and ``bench demo``) is :func:`run_suite`::

    from bench.suites import run_suite
    summary = run_suite("ViT-B/32", "zero-shot", tasks=["cifar10"], out="results")
    summary = run_suite(model, "all", tasks=["digits"], out="results", model_name="tiny")

Each suite writes one result file per (model, task, suite, shots, seed) with
:mod:`bench.results` and skips those already there (``force`` redoes them).
"""

from __future__ import annotations

import importlib
import pkgutil

from bench.suites.base import SUITES, Suite
from bench.suites.context import RunContext, RunSummary
from bench.suites.runner import leaf_suites, resolve_tasks, run_suite

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")


def _register_all() -> None:
    leaves = sorted(
        (s for _, s in SUITES.items() if s.runner is not None and s.in_all), key=lambda s: s.order
    )
    SUITES.register(
        "all",
        Suite(
            "all",
            ", ".join(s.name for s in leaves) + " in turn",
            members=tuple(s.name for s in leaves),
            order=1000,
        ),
    )


_register_all()


def suite_names() -> list[str]:
    """Every suite's name, in order (``all`` last)."""
    return [s.name for s in sorted((s for _, s in SUITES.items()), key=lambda s: s.order)]


__all__ = [
    "SUITES",
    "RunContext",
    "RunSummary",
    "Suite",
    "leaf_suites",
    "resolve_tasks",
    "run_suite",
    "suite_names",
]
