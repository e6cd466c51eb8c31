"""A suite: a named task list plus protocol settings and the function that runs it.

Suites live in :data:`SUITES` (a :class:`bench.registry.Registry`). A suite is one module in
``bench/suites/`` that calls ``SUITES.register`` at import; ``import bench.suites`` imports
every module of the package, so adding a suite is adding one file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bench.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from bench.suites.context import RunContext

Runner = Callable[["RunContext", list[Any], "Suite"], None]
#: ``needs(task) -> [(task, split, fold), ...]``: the features a suite reads for a task.
Needs = Callable[[Any], list[tuple[Any, str, "int | None"]]]


def _any_task(task: Any) -> bool:
    return True


@dataclass(frozen=True)
class Suite:
    """A named protocol.

    Attributes:
        name: The suite's name (``--suite``).
        description: One line for ``--help``.
        tag: Tasks run when none are given: those of ``bench.tasks.list_tasks(tag)`` that the
            suite accepts (every task it accepts when ``None``).
        runner: ``runner(ctx, tasks, suite)``; ``None`` for a composite suite.
        accepts: Whether a task can be run by this suite.
        requirement: What ``accepts`` asks of a task, for error messages.
        settings: Protocol settings read by the runner (e.g. ``shots``, ``seeds``).
        members: Member suites of a composite suite, run in order.
        per_task: Call the runner once per task (a task that fails is reported and the
            others still run), else once with all tasks (the runner reports per task).
        order: Position in listings and in ``all`` (lower first).
        needs: The features the runner reads for a task; a distributed run extracts them
            on every rank before rank 0 runs the suite (``None``: rank 0 extracts alone).
        in_all: Whether ``all`` runs it (``bias`` runs only when asked for by name).
    """

    name: str
    description: str
    tag: str | None = "paper27"
    runner: Runner | None = None
    accepts: Callable[[Any], bool] = _any_task
    requirement: str = ""
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    members: tuple[str, ...] = ()
    per_task: bool = True
    order: int = 100
    needs: Needs | None = None
    in_all: bool = True


SUITES: Registry[Suite] = Registry("suite", "bench run --help")


def test_split(task: Any) -> list[tuple[Any, str, int | None]]:
    """A suite that reads only the test split (zero-shot)."""
    return [(task, "test", None)]


def has_train(task: Any) -> bool:
    """Whether a task has a train split (what the probe suites need)."""
    return "train" in task.expected_sizes()
