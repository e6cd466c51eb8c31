"""Atomic writes, hashing and the standard locations (cache, data, results).

Every file that a later run trusts (cached features, weights, results) is written to a
temporary file in the same folder and renamed into place, so a killed run never leaves a
half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.errors import BenchError


def cache_dir() -> Path:
    """The cache root: ``$BENCH_CACHE`` or ``~/.cache/bench``."""
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "bench").expanduser()


def data_root(override: str | os.PathLike[str] | None = None) -> Path:
    """Where datasets live: ``override`` (``--data-root``), ``$BENCH_DATA`` or ``~/.cache/bench/data``."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("BENCH_DATA")
    return Path(env).expanduser() if env else cache_dir() / "data"


_HINTS = {
    errno.ENOSPC: "free some space, or point it elsewhere (BENCH_CACHE, --out, --data-root)",
    errno.EDQUOT: "free some space, or point it elsewhere (BENCH_CACHE, --out, --data-root)",
    errno.EACCES: "make the folder writable, or point it elsewhere (BENCH_CACHE, --out)",
    errno.EPERM: "make the folder writable, or point it elsewhere (BENCH_CACHE, --out)",
    errno.EROFS: "the file system is read-only: point it elsewhere (BENCH_CACHE, --out)",
    errno.ENOTDIR: "a part of the path is a file, not a folder: move it away or choose another",
    errno.EEXIST: "a part of the path is a file, not a folder: move it away or choose another",
}


def os_error(path: str | os.PathLike[str], err: OSError, doing: str = "write") -> BenchError:
    """One-line :class:`BenchError` for an OS-level failure on ``path``, saying what to do."""
    reason = err.strerror or str(err) or type(err).__name__
    hint = _HINTS.get(err.errno, "check the path, its permissions and the free space")
    return BenchError(f"cannot {doing} {path}: {reason}; {hint}")


def ensure_dir(path: str | os.PathLike[str]) -> Path:
    """``mkdir -p path``; an OS failure (a file in the way, no permission) is a BenchError."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:
        raise os_error(
            path, OSError(errno.ENOTDIR, "exists and is not a folder"), "create"
        ) from err
    except OSError as err:
        raise os_error(path, err, "create") from err
    if not path.is_dir():
        raise os_error(path, OSError(errno.ENOTDIR, "exists and is not a folder"), "create")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; renames it onto ``path`` if the block succeeds.

    The temporary file is created with mode 0666 less the umask (as ``open`` would), not
    ``mkstemp``'s 0600. On an exception the temporary file is removed and ``path`` is left as
    it was; an OS failure (no space, read-only, no permission) becomes a BenchError naming
    ``path``.
    """
    path = Path(path)
    ensure_dir(path.parent)
    tmp_path = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        try:
            os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            yield tmp_path
            os.replace(tmp_path, path)
        except OSError as err:
            raise os_error(path, err) from err
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (fsync, then rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Writes ``obj`` as indented, key-sorted JSON (deterministic bytes) atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
