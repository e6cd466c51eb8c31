"""The task registry: one :class:`Task` per file ``tasks/<name>.yaml``.

Task files are read only through ``importlib.resources.files("bench.taskfiles")`` (the
top-level ``tasks/`` folder, shipped in the wheel), so an installed package and a checkout
see the same tasks. A file that does not validate raises on first use; it never silently
drops out of the list.

Example:
    >>> from bench.tasks import get_task, list_tasks
    >>> get_task("digits").num_classes
    10
    >>> [t.name for t in list_tasks("shifts")][:2]
    ['imagenet_a', 'imagenet_r']
"""

from __future__ import annotations

from importlib.resources import files

from bench.errors import BenchError
from bench.registry import Registry
from bench.tasks.schema import TAGS, TaskFileError, parse_task
from bench.tasks.task import DATASET_SPLITS, Source, Task, ValSpec

TASKFILES_PACKAGE = "bench.taskfiles"

_registry: Registry[Task] | None = None


def task_files() -> dict[str, bytes]:
    """The bytes of every task file, by task name (file stem), sorted by name."""
    found = {}
    for entry in files(TASKFILES_PACKAGE).iterdir():
        if entry.name.endswith(".yaml") and entry.is_file():
            found[entry.name[: -len(".yaml")]] = entry.read_bytes()
    return dict(sorted(found.items()))


def load_registry() -> Registry[Task]:
    """Parses every task file into a fresh registry.

    Raises:
        TaskFileError: for the first file that does not validate.
    """
    registry: Registry[Task] = Registry("task", "bench tasks")
    for name, raw in task_files().items():
        registry.register(name, parse_task(raw, f"{name}.yaml", expected_name=name))
    return registry


def _tasks() -> Registry[Task]:
    global _registry
    if _registry is None:
        _registry = load_registry()
    return _registry


def get_task(name: str) -> Task:
    """The task called ``name``.

    Raises:
        UnknownNameError: with close matches and ``bench tasks`` to list them all.
    """
    return _tasks().get(name)


def list_tasks(tag: str | None = None) -> list[Task]:
    """All tasks, sorted by name, or only those tagged ``tag`` (``paper27``, ``shifts``, ...).

    Raises:
        BenchError: for an unknown tag, naming the valid ones.
    """
    if tag is not None and tag not in TAGS:
        raise BenchError(f"unknown task tag {tag!r}; valid tags: {', '.join(TAGS)}")
    tasks = sorted((t for _, t in _tasks().items()), key=lambda t: t.name)
    return [t for t in tasks if tag is None or tag in t.tags]


__all__ = [
    "DATASET_SPLITS",
    "TAGS",
    "Source",
    "Task",
    "TaskFileError",
    "ValSpec",
    "get_task",
    "list_tasks",
    "load_registry",
    "task_files",
]
