"""Dataset resources: what to fetch (with :func:`bench.download.fetch`) and safe extraction.

What a task downloads is stated once, in its task file's ``source.files``;
:func:`resources` turns those entries into :class:`Resource` values, and a loader's
``download`` passes them to :func:`download_resources` (into the folder the loader reads).

Downloads go through :mod:`bench.download`, the one downloader of datasets and weights
(resumable, verified, a wrong file a user put there is kept as ``.rejected``). A fetched file
whose checksum does not match is refused; it is never extracted or read. Archives are extracted into a temporary folder beside the target
and moved into place member by member only once the whole archive has been read, so an
interrupted extraction never leaves a tree that looks complete.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.download import DownloadError, fetch
from bench.errors import DataMissingError

__all__ = [
    "ARCHIVE_SUFFIXES",
    "DownloadError",
    "Resource",
    "download_files",
    "download_resources",
    "extract",
    "fetch",
    "resources",
]

CHUNK = 1 << 20
ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
GZIP_SUFFIXES = (".gz",)  # one gzip-compressed file (after the .tar.gz check)
#: What :func:`extract` unpacks (a task file's ``extract: true`` needs one of these).
ARCHIVE_SUFFIXES = ZIP_SUFFIXES + TAR_SUFFIXES + GZIP_SUFFIXES


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


def resources(task: Any) -> list[Resource]:
    """The downloads of ``task``: one :class:`Resource` per entry of its ``source.files``.

    The task file is the one place for a dataset's URLs, file names and checksums (validated
    by :func:`bench.tasks.schema.parse_file`); an empty list where it lists none.
    """
    return [
        Resource(f.url, f.filename, f.checksum, f.extract, f.extract_to) for f in task.source.files
    ]


def _safe_target(root: Path, name: str) -> Path:
    target = (root / name).resolve()
    if not target.is_relative_to(root.resolve()):
        raise DataMissingError(f"archive member {name!r} would be written outside {root}; refused")
    return target


def _unpack(archive: Path, into: Path) -> None:
    name = archive.name.lower()
    if name.endswith(ZIP_SUFFIXES):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                _safe_target(into, member)
            z.extractall(into)
    elif name.endswith(TAR_SUFFIXES):
        with tarfile.open(archive) as t:
            for member in t.getmembers():
                _safe_target(into, member.name)
                if member.issym() or member.islnk():
                    raise DataMissingError(
                        f"archive {archive} holds a link {member.name!r}; refused"
                    )
            t.extractall(into, filter="data")
    elif name.endswith(GZIP_SUFFIXES):
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


def download_files(task: Any, root: str | os.PathLike[str], **_: Any) -> None:
    """A loader's ``download`` for data unpacked straight into the task's folder ``root``:
    fetches and verifies the task file's ``source.files`` (nothing where it lists none)."""
    download_resources(root, resources(task))
