"""Errors that are the user's to fix.

Anything raised as a :class:`BenchError` is printed by the CLI as one line and exits with
status 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class BenchError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""


class UnknownNameError(BenchError, KeyError):
    """A name (model, task, suite, metric, ...) that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataMissingError(BenchError):
    """A dataset or file that is not on disk, with where it was looked for and how to get it."""


class ChecksumError(BenchError):
    """A file whose sha256 does not match the expected one; it is never used."""


class CorruptImageError(BenchError):
    """An image file that cannot be decoded; the message names the file."""

    def __init__(self, path: str, reason: str = "") -> None:
        self.path = path
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(
            f"cannot decode image {path}{detail}; re-download the dataset, or pass --skip-corrupt "
            "to skip such images and count them in the result"
        )

    def __reduce__(self):  # keeps path and reason across DataLoader worker processes
        return (type(self), (self.path, self.reason))


class IncompleteDataError(BenchError):
    """A split with fewer (or more) items on disk than the task file expects."""
