"""The one downloader: a user's file is never destroyed, stale locks go, failures are memoised."""

from __future__ import annotations

import hashlib
import socket
import urllib.request
from pathlib import Path

import pytest

from bench import download
from bench.errors import BenchError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_wrong_file_put_there_by_hand_is_kept_as_rejected(tmp_path):
    good = b"the real archive" * 100
    src = tmp_path / "src.bin"
    src.write_bytes(good)
    dest = tmp_path / "data" / "a.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"the user's own copy")
    actual = hashlib.sha256(b"the user's own copy").hexdigest()
    expected = hashlib.sha256(good).hexdigest()
    with pytest.warns(UserWarning, match=rf"sha256 {actual}, expected {expected}; kept as"):
        download.fetch(src.as_uri(), dest, f"sha256:{expected}", progress=False)
    assert dest.read_bytes() == good
    assert (tmp_path / "data" / "a.bin.rejected").read_bytes() == b"the user's own copy"


def test_a_stale_lock_of_a_dead_process_is_removed(tmp_path):
    # A pid above the kernel's maximum cannot be alive (a finished child's pid could be reused)
    dead = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    dest = tmp_path / "b.bin"
    lock = tmp_path / "b.bin.lock"
    lock.write_text(f"{dead}\n", encoding="utf-8")
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 10)
    download.fetch(src.as_uri(), dest, None, progress=False)
    assert dest.read_bytes() == b"x" * 10 and not lock.exists()


def test_a_live_lock_is_waited_for_then_named(tmp_path):
    dest = tmp_path / "c.bin"
    lock = tmp_path / "c.bin.lock"
    lock.write_text(f"{_live_pid()}\n", encoding="utf-8")
    with pytest.raises(BenchError, match=r"c\.bin is being downloaded by process \d+"):
        with download.locked(dest, wait_s=0.3):
            pass
    assert lock.exists()  # another process's lock is not ours to remove


def _live_pid() -> int:
    import os

    return os.getppid()


def test_the_lock_records_our_pid_and_goes_away(tmp_path):
    import os

    dest = tmp_path / "d.bin"
    with download.locked(dest):
        assert (tmp_path / "d.bin.lock").read_text(encoding="utf-8").strip() == str(os.getpid())
    assert not (tmp_path / "d.bin.lock").exists()


def test_an_unreachable_url_is_tried_once_per_run(tmp_path, monkeypatch):
    url = f"http://127.0.0.1:{_closed_port()}/w.pt"
    calls = []
    real = urllib.request.urlopen
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: calls.append(1) or real(*a, **k))
    with pytest.raises(download.DownloadError) as first:
        download.fetch(url, tmp_path / "w.pt", None, progress=False, timeout=5)
    with pytest.raises(download.DownloadError) as second:
        download.fetch(url, tmp_path / "other" / "w.pt", None, progress=False, timeout=5)
    assert len(calls) == 1 and str(second.value) == str(first.value)
    download.forget_failures()
    with pytest.raises(download.DownloadError):
        download.fetch(url, tmp_path / "w.pt", None, progress=False, timeout=5)
    assert len(calls) == 2


def test_files_are_written_with_the_umask(tmp_path):
    import os

    src = tmp_path / "src.bin"
    src.write_bytes(b"y")
    old = os.umask(0o022)
    try:
        path = download.fetch(src.as_uri(), tmp_path / "e.bin", None, progress=False)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
