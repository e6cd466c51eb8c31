"""The one downloader of datasets and weights: resumable, verified, never destroys a user's file.

A download goes to ``<dest>.part`` (resumed with an HTTP ``Range`` request; restarted when the
server ignores it), is verified against its checksum and only then renamed onto ``dest``.

- A file already at ``dest`` whose checksum is wrong (put there by hand, say) is kept as
  ``<dest>.rejected`` and the warning names the expected and the actual checksum.
- Concurrent downloads of one file are serialised by ``<dest>.lock``, which holds the pid of
  its owner; a lock whose process is no longer alive is stale and removed.
- A URL that cannot be reached is remembered for the rest of the process: asking again raises
  the same error at once (one report per run, not one per suite and task).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

from bench.errors import BenchError, ChecksumError, DataMissingError
from bench.io import ensure_dir

CHUNK = 1 << 20
MAX_ATTEMPTS = 5  # per download; a retry happens only after an attempt that made progress
TIMEOUT_S = 60.0
LOCK_WAIT_S = 3600.0
USER_AGENT = "bench-downloader/1.0"

_FAILED: dict[str, DataMissingError] = {}


class DownloadError(DataMissingError):
    """A file that could not be fetched (no network, HTTP error); names the URL and the path."""


def forget_failures() -> None:
    """Clears the memo of unreachable URLs (a long-lived process whose network came back)."""
    _FAILED.clear()


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """The hex digest of a file with ``algorithm`` (``md5`` or ``sha256``), read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def parse_checksum(checksum: str) -> tuple[str, str]:
    """``("md5" | "sha256", hex)`` from ``"md5:<hex>"`` or ``"sha256:<hex>"``."""
    algorithm, _, expected = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not expected:
        raise ValueError(f"bad checksum spec {checksum!r}: use 'md5:<hex>' or 'sha256:<hex>'")
    return algorithm, expected.lower()


def mismatch(path: str | os.PathLike[str], checksum: str | None) -> str | None:
    """None if ``path`` matches ``checksum`` (or there is none), else ``"<alg> <actual>,
    expected <expected>"``."""
    if checksum is None:
        return None
    algorithm, expected = parse_checksum(checksum)
    actual = file_digest(path, algorithm)
    return None if actual == expected else f"{algorithm} {actual}, expected {expected}"


def reject(path: Path, why: str) -> Path:
    """Keeps a file that failed verification as ``<path>.rejected`` (never deletes it)."""
    rejected = path.with_name(path.name + ".rejected")
    os.replace(path, rejected)
    warnings.warn(
        f"{path} has {why}; kept as {rejected} (delete it if it is not yours) and "
        "downloading the file again",
        stacklevel=3,
    )
    return rejected


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _owner(lock: Path) -> int | None:
    """The pid in ``lock``; None for a stale lock (dead owner, or unreadable and old)."""
    try:
        text = lock.read_text(encoding="utf-8").strip()
        age = time.time() - lock.stat().st_mtime
    except (OSError, UnicodeDecodeError):
        return None
    if not text.isdigit():
        return -1 if age < 10 else None  # being written right now, or garbage left behind
    pid = int(text)
    return pid if _alive(pid) else None


@contextlib.contextmanager
def locked(path: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Serialises downloads of ``path`` between processes with ``<path>.lock`` (holds the pid).

    Raises:
        BenchError: if a live process still holds the lock after ``wait_s`` seconds.
    """
    ensure_dir(path.parent)
    lock = path.with_name(path.name + ".lock")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            owner = _owner(lock)
            if owner is None:
                lock.unlink(missing_ok=True)  # stale: its process is gone
                continue
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{path} is being downloaded by process {owner} (lock {lock}); wait for it "
                    f"to finish, or delete {lock} if that process is not a bench download"
                ) from None
            time.sleep(0.2)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def fetch(
    url: str,
    dest: str | os.PathLike[str],
    checksum: str | None,
    *,
    what: str = "",
    hint: str = "",
    progress: bool = True,
    timeout: float = TIMEOUT_S,
) -> Path:
    """``dest``, verified against ``checksum``; downloaded from ``url`` first if needed.

    Args:
        url: The address (``http(s)://`` or ``file://``).
        dest: The final path.
        checksum: ``"md5:<hex>"``, ``"sha256:<hex>"`` or None (then the sha256 is printed).
        what: What the file is, for messages (default its name).
        hint: What to do when the download fails (default: put the file at ``dest`` by hand).
        progress: Show a progress bar on stderr.
        timeout: Seconds to wait for the server.

    Raises:
        DownloadError: the URL could not be fetched (one line naming the URL and the path).
        ChecksumError: the fetched file does not match; it is deleted, never used.
    """
    dest = Path(dest)
    what = what or dest.name
    hint = hint or f"check the network, or fetch the file by hand and put it at {dest}"
    with locked(dest):
        if dest.is_file():
            why = mismatch(dest, checksum)
            if why is None:
                return dest
            reject(dest, why)
        elif dest.exists():
            raise BenchError(f"{dest} exists but is not a file; move it away and run again")
        if url in _FAILED:
            raise _FAILED[url]
        part = dest.with_name(dest.name + ".part")
        _download(url, part, what, dest, hint, progress, timeout)
        why = mismatch(part, checksum)
        if why is not None:
            part.unlink()
            raise ChecksumError(
                f"the file downloaded from {url} has {why}; it was refused and deleted. Run again; if "
                f"this persists, {hint}"
            )
        if checksum is None:
            print(f"{dest.name}: no published checksum; sha256 {file_digest(part, 'sha256')}")
        os.replace(part, dest)
    return dest


def _download(
    url: str, part: Path, what: str, dest: Path, hint: str, progress: bool, timeout: float
) -> None:
    """Transfers ``url`` into ``part``, retrying while attempts make progress."""

    def failed(reason: object, remember: bool) -> DownloadError:
        err = DownloadError(f"cannot download {what} from {url} to {dest} ({reason}); {hint}")
        if remember:
            _FAILED[url] = err
        return err

    reason: object = ""
    for _ in range(MAX_ATTEMPTS):
        before = part.stat().st_size if part.exists() else 0
        try:
            if _transfer(url, part, progress, timeout):
                return
            reason = "the connection closed before the end of the file"
        except urllib.error.HTTPError as err:
            raise failed(f"HTTP {err.code} {err.reason}", True) from err
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            reason = getattr(err, "reason", None) or err
        after = part.stat().st_size if part.exists() else 0
        if after == before:  # no progress: retrying would fail the same way
            raise failed(reason, True)
    raise failed(f"incomplete after {MAX_ATTEMPTS} attempts: {reason}", False)


def _transfer(url: str, part: Path, progress: bool, timeout: float) -> bool:
    """One HTTP attempt appending to ``part``; returns whether the file is now complete.

    Resumes from the end of an existing ``part`` with a Range request; restarts from zero when
    the server answers with the whole file instead.
    """
    from tqdm import tqdm

    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code != 416 or not offset:
            raise
        if _content_range_total(err.headers) in (offset, None):
            return True  # complete already (a run stopped before verifying it)
        part.unlink()  # longer than the file: it cannot be resumed
        return _transfer(url, part, progress, timeout)
    with response:
        status = getattr(response, "status", 200)
        resumed = offset and status == 206 and _range_start(response.headers) == offset
        offset = offset if resumed else 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        with (
            open(part, "ab" if resumed else "wb") as out,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name[: -len(".part")],
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            while chunk := response.read(CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
    return total is None or part.stat().st_size >= total


def _range_start(headers: Message) -> int | None:
    """The first byte of a 206 answer (``Content-Range: bytes START-END/TOTAL``)."""
    try:
        return int(headers.get("Content-Range", "").split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _content_range_total(headers: Message) -> int | None:
    """The file size in a 416 answer (``Content-Range: bytes */TOTAL``)."""
    try:
        return int(headers.get("Content-Range", "").rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return None
