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

import os
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

from bench.errors import BenchError
from bench.registry import Registry
from bench.tasks.schema import TAGS, USER_TAG, TaskFileError, parse_task
from bench.tasks.task import DATA_SOURCES, DATASET_SPLITS, Mirror, Source, Task, ValSpec

TASKFILES_PACKAGE = "bench.taskfiles"
TASKS_PATH_ENV = "BENCH_TASKS_PATH"  # os.pathsep-separated folders of user task files

_registry: Registry[Task] | None = None
_registry_dirs: list[Path] = []  # the user folders the registry was read from
_broken: dict[str, TaskFileError] = {}
_added_dirs: list[Path] = []


def task_files() -> dict[str, bytes]:
    """The bytes of every built-in task file, by task name (file stem), sorted by name."""
    found = {}
    for entry in files(TASKFILES_PACKAGE).iterdir():
        if entry.name.endswith(".yaml") and entry.is_file():
            found[entry.name[: -len(".yaml")]] = entry.read_bytes()
    return dict(sorted(found.items()))


def _check_dir(path: str | os.PathLike[str], where: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise BenchError(
            f"{where} {str(path)!r} {what}; pass a folder of task YAML files (<name>.yaml)"
        )
    return folder.resolve()


def add_task_dirs(paths: Iterable[str | os.PathLike[str]] | None) -> None:
    """Adds folders of user task files (``bench run/tasks --tasks-dir DIR``) to the registry.

    Each ``<name>.yaml`` in a folder is a task; folders in ``$BENCH_TASKS_PATH`` are added
    too. The registry is rebuilt on next use.

    Raises:
        BenchError: a path that does not exist or is not a folder.
    """
    for path in paths or ():
        folder = _check_dir(path, "--tasks-dir")
        if folder not in _added_dirs:
            _added_dirs.append(folder)
    reset()


def added_task_dirs() -> list[Path]:
    """The folders given to :func:`add_task_dirs` so far."""
    return list(_added_dirs)


def task_dirs() -> list[Path]:
    """The folders of user task files: ``$BENCH_TASKS_PATH``'s, then ``--tasks-dir``'s.

    Raises:
        BenchError: a folder in ``$BENCH_TASKS_PATH`` that does not exist.
    """
    env = [p for p in os.environ.get(TASKS_PATH_ENV, "").split(os.pathsep) if p.strip()]
    folders = [_check_dir(p, TASKS_PATH_ENV) for p in env]
    return list(dict.fromkeys([*folders, *_added_dirs]))


def reset(dirs: bool = False) -> None:
    """Forgets the parsed registry (the next use reads the task files again).

    Args:
        dirs: Also forget the folders given to :func:`add_task_dirs`.
    """
    global _registry
    _registry = None
    _broken.clear()
    if dirs:
        _added_dirs.clear()


def _user_files(builtin: Iterable[str], dirs: Iterable[Path]) -> dict[str, Path]:
    """User task files by name; a name that is a built-in's or is given twice is refused."""
    found: dict[str, Path] = {}
    taken = set(builtin)
    for folder in dirs:
        for path in sorted(folder.glob("*.yaml")):
            name = path.stem
            if name in taken or name in found:
                other = found.get(name, "the built-in task of that name")
                raise TaskFileError(
                    f"task file {path}: task name {name!r} is already taken by {other}; "
                    "task names cannot collide: rename the file and its name key"
                )
            found[name] = path
    return found


def load_registry(dirs: Iterable[Path] | None = None) -> Registry[Task]:
    """Parses every built-in and user task file into a fresh registry.

    A user file that does not validate is kept aside (:func:`broken_tasks`): using it
    raises its error; the other tasks keep working.

    Args:
        dirs: The folders of user task files (default :func:`task_dirs`).

    Raises:
        TaskFileError: for a built-in file that does not validate (a bug), or a user task
            whose name collides with another task's.
    """
    registry: Registry[Task] = Registry("task", "bench tasks")
    builtin = task_files()
    for name, raw in builtin.items():
        registry.register(name, parse_task(raw, f"{name}.yaml", expected_name=name))
    _broken.clear()
    for name, path in _user_files(builtin, task_dirs() if dirs is None else dirs).items():
        try:
            task = parse_task(path.read_bytes(), str(path), expected_name=name, origin=str(path))
        except TaskFileError as e:
            _broken[name] = e
            continue
        registry.register(name, task)
    return registry


def _tasks() -> Registry[Task]:
    global _registry, _registry_dirs
    dirs = task_dirs()
    if _registry is None or dirs != _registry_dirs:  # $BENCH_TASKS_PATH may have changed
        _registry = None
        _registry = load_registry(dirs)
        _registry_dirs = dirs
    return _registry


def get_task(name: str) -> Task:
    """The task called ``name``.

    Raises:
        TaskFileError: the user's task file of that name does not validate.
        UnknownNameError: with close matches and ``bench tasks`` to list them all.
    """
    registry = _tasks()
    if name in _broken:
        raise _broken[name]
    return registry.get(name)


def broken_tasks() -> dict[str, str]:
    """User task files that do not validate: name -> the reason, sorted by name."""
    _tasks()
    return {name: str(_broken[name]) for name in sorted(_broken)}


def list_tasks(tag: str | None = None) -> list[Task]:
    """All valid tasks, sorted by name, or only those tagged ``tag`` (``paper27``, ...).

    Raises:
        BenchError: for an unknown tag, naming the valid ones.
    """
    if tag is not None and tag not in TAGS:
        raise BenchError(f"unknown task tag {tag!r}; valid tags: {', '.join(TAGS)}")
    tasks = sorted((t for _, t in _tasks().items()), key=lambda t: t.name)
    return [t for t in tasks if tag is None or tag in t.tags]


__all__ = [
    "DATASET_SPLITS",
    "DATA_SOURCES",
    "TAGS",
    "TASKS_PATH_ENV",
    "USER_TAG",
    "Mirror",
    "Source",
    "Task",
    "TaskFileError",
    "ValSpec",
    "add_task_dirs",
    "added_task_dirs",
    "broken_tasks",
    "get_task",
    "list_tasks",
    "load_registry",
    "reset",
    "task_dirs",
    "task_files",
]
