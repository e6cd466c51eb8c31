"""Checksum-verified, resumable, atomic downloads and safe archive extraction.

A download goes to ``<dest>.part`` (resumed with an HTTP ``Range`` request when a partial
file is there), is verified against its checksum, and only then renamed onto ``dest``. A
file whose checksum does not match is deleted and refused (:class:`ChecksumError`); it is
never extracted or read. Archives are extracted into a temporary folder beside the target
and moved into place member by member only once the whole archive has been read, so an
interrupted extraction never leaves a tree that looks complete.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.errors import ChecksumError, DataMissingError

CHUNK = 1 << 20
USER_AGENT = "bench-dataset-downloader/1.0"


class DownloadError(DataMissingError):
    """A file that could not be fetched (no network, HTTP error); names the URL and the path."""


@dataclass(frozen=True)
class Resource:
    """One file to fetch.

    Attributes:
        url: Where it is published.
        filename: Name under the task's data folder.
        checksum: ``"md5:<hex>"`` or ``"sha256:<hex>"`` as published by the source (or by
            torchvision, which mirrors the publisher's), or ``None`` where no checksum is
            published; then the sha256 of what was fetched is printed so it can be pinned.
        extract: Whether to unpack the archive into the task's data folder after verifying.
        extract_to: Sub-folder of the task's data folder to unpack into ("" for the folder).
    """

    url: str
    filename: str
    checksum: str | None
    extract: bool = True
    extract_to: str = ""


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """The hex digest of a file with ``algorithm`` (``md5`` or ``sha256``), read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _parse_checksum(checksum: str) -> tuple[str, str]:
    algorithm, _, expected = checksum.partition(":")
    if algorithm not in ("md5", "sha256") or not expected:
        raise ValueError(f"bad checksum spec {checksum!r}: use 'md5:<hex>' or 'sha256:<hex>'")
    return algorithm, expected.lower()


def verify(path: str | os.PathLike[str], checksum: str | None) -> None:
    """Checks ``path`` against ``checksum``; does nothing when the checksum is ``None``.

    Raises:
        ChecksumError: naming the file, the expected and the actual digest.
    """
    if checksum is None:
        return
    algorithm, expected = _parse_checksum(checksum)
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"{path}: {algorithm} is {actual}, expected {expected}; the file was refused and "
            "deleted: run the download again (a proxy or a truncated transfer can cause this)"
        )


def _open(url: str, offset: int, timeout: float):
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _stream(url: str, part: Path, timeout: float, progress: bool) -> None:
    from tqdm import tqdm

    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as e:
        if e.code != 416 or not offset:  # 416: the partial file is already complete
            raise
        return
    with response:
        resumed = offset and response.status == 206
        if not resumed:
            offset = 0  # the server ignored Range: start again
        total = response.headers.get("Content-Length")
        total = int(total) + offset if total else None
        with (
            open(part, "ab" if resumed else "wb") as f,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            while block := response.read(CHUNK):
                f.write(block)
                bar.update(len(block))
            f.flush()
            os.fsync(f.fileno())


def fetch(
    url: str,
    dest: str | os.PathLike[str],
    checksum: str | None = None,
    *,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Downloads ``url`` to ``dest`` unless a verified copy is already there.

    Args:
        url: The address (``http(s)://`` or ``file://``).
        dest: The final path.
        checksum: ``"md5:..."``/``"sha256:..."`` or ``None`` (then the sha256 is printed).
        timeout: Seconds to wait for the server.
        progress: Show a tqdm bar.

    Returns:
        ``dest``.

    Raises:
        DownloadError: the URL could not be fetched (one line naming the URL and the path).
        ChecksumError: the fetched file does not match; it is deleted, never used.
    """
    dest = Path(dest)
    if dest.exists():
        try:
            verify(dest, checksum)
            return dest
        except ChecksumError:
            dest.unlink()  # a stale or damaged copy: fetch it again
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _stream(url, part, timeout, progress)
    except (urllib.error.URLError, OSError, ValueError) as e:
        if isinstance(e, urllib.error.HTTPError):
            reason = f"HTTP {e.code} {e.reason}"
        else:
            reason = getattr(e, "reason", None) or e
        raise DownloadError(
            f"cannot download {url} to {dest}: {reason}; check the network, or fetch the file "
            f"by hand and put it at {dest}"
        ) from e
    try:
        verify(part, checksum)
    except ChecksumError as e:
        part.unlink(missing_ok=True)
        raise ChecksumError(str(e).replace(str(part), f"{url} (saved as {part})")) from None
    if checksum is None:
        print(f"{dest.name}: no published checksum; sha256 {file_digest(part, 'sha256')}")
    os.replace(part, dest)
    return dest


def _safe_target(root: Path, name: str) -> Path:
    target = (root / name).resolve()
    if not target.is_relative_to(root.resolve()):
        raise DataMissingError(f"archive member {name!r} would be written outside {root}; refused")
    return target


def _unpack(archive: Path, into: Path) -> None:
    name = archive.name.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                _safe_target(into, member)
            z.extractall(into)
    elif name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        with tarfile.open(archive) as t:
            for member in t.getmembers():
                _safe_target(into, member.name)
                if member.issym() or member.islnk():
                    raise DataMissingError(
                        f"archive {archive} holds a link {member.name!r}; refused"
                    )
            t.extractall(into, filter="data")
    elif name.endswith(".gz"):
        with gzip.open(archive, "rb") as src, open(into / archive.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
    else:
        raise ValueError(f"do not know how to extract {archive}")


def _merge(src: Path, dest: Path) -> None:
    """Moves the tree ``src`` into ``dest``, replacing files of the same name."""
    dest.mkdir(parents=True, exist_ok=True)
    for child in src.iterdir():
        target = dest / child.name
        if child.is_dir() and target.is_dir():
            _merge(child, target)
        else:
            if target.is_dir():
                shutil.rmtree(target)
            os.replace(child, target)


def extract(archive: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Unpacks ``archive`` (zip, tar[.gz|.bz2|.xz], tgz or a single .gz) into ``dest``.

    Members are first unpacked into a temporary folder beside ``dest``; only a complete
    extraction is moved into place. Paths that would escape ``dest`` and links are refused.

    Raises:
        DataMissingError: the archive is damaged or holds an unsafe member.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
    try:
        try:
            _unpack(archive, tmp)
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
            raise DataMissingError(
                f"cannot extract {archive}: {e}; delete it and download it again"
            ) from e
        _merge(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def download_resources(
    root: str | os.PathLike[str],
    resources: Sequence[Resource],
    *,
    keep_archives: bool = False,
    progress: bool = True,
) -> None:
    """Fetches, verifies and (where asked) extracts each resource under ``root``.

    An archive is deleted after a successful extraction unless ``keep_archives``; a marker
    ``.<filename>.extracted`` records the extraction so that a re-run skips it.
    """
    root = Path(root)
    for res in resources:
        marker = root / f".{res.filename}.extracted"
        if res.extract and marker.exists():
            continue
        path = fetch(res.url, root / res.filename, res.checksum, progress=progress)
        if res.extract:
            extract(path, root / res.extract_to)
            marker.write_text(res.url + "\n")
            if not keep_archives:
                path.unlink()
