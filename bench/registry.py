"""The one registry pattern used for models, tasks, suites, metrics and loaders.

A registry maps names (plus optional aliases) to objects. Registering a name twice raises;
looking up an unknown name raises :class:`~bench.errors.UnknownNameError` naming the close
matches and the command that lists every valid name.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from bench.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to objects, with aliases and helpful errors.

    Args:
        kind: What is registered, for messages ("model", "task", ...).
        list_hint: How a user lists every valid name (e.g. "bench models").
    """

    def __init__(self, kind: str, list_hint: str = "") -> None:
        self.kind = kind
        self.list_hint = list_hint
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, obj: T, aliases: tuple[str, ...] = ()) -> T:
        """Adds ``obj`` under ``name`` and its aliases.

        Raises:
            ValueError: if the name or an alias is already taken (a bug, not user input).
        """
        for key in (name, *aliases):
            if key in self._items or key in self._aliases:
                raise ValueError(f"duplicate {self.kind} name {key!r}")
        self._items[name] = obj
        for alias in aliases:
            self._aliases[alias] = name
        return obj

    def decorator(self, name: str, aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
        """``@registry.decorator("name")`` registers the decorated object."""

        def wrap(obj: T) -> T:
            return self.register(name, obj, aliases)

        return wrap

    def canonical(self, name: str) -> str:
        """Returns the registered name for ``name`` or one of its aliases.

        Raises:
            UnknownNameError: with close matches and how to list all names.
        """
        if name in self._items:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise UnknownNameError(self.unknown_message(name))

    def get(self, name: str) -> T:
        """Returns the object registered under ``name`` (or an alias of it)."""
        return self._items[self.canonical(name)]

    def unknown_message(self, name: str) -> str:
        candidates = list(self._items) + list(self._aliases)
        close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
        msg = f"unknown {self.kind} {name!r}"
        if close:
            msg += f"; did you mean {', '.join(repr(c) for c in close)}?"
        else:
            shown = ", ".join(sorted(self._items)[:12])
            more = "" if len(self._items) <= 12 else ", ..."
            msg += f"; valid choices: {shown}{more}"
        if self.list_hint:
            msg += f" (list them all with `{self.list_hint}`)"
        return msg

    def names(self) -> list[str]:
        """Registered names (not aliases), in registration order."""
        return list(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items or name in self._aliases

    def __len__(self) -> int:
        return len(self._items)
