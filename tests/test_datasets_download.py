"""The downloader (checksums, resume, atomic extraction) and `bench download`, on loopback only."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _datasets_fixtures import build_cifar

from bench.cli import main
from bench.datasets import _download
from bench.datasets._download import DownloadError, Resource, extract, fetch
from bench.errors import ChecksumError, DataMissingError


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files`` (path -> bytes) with ``Range`` support; records requests."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        data = self.server.files.get(self.path)  # type: ignore[attr-defined]
        self.server.requests.append((self.path, self.headers.get("Range")))  # type: ignore[attr-defined]
        if data is None:
            self.send_error(404)
            return
        start = 0
        if rng := self.headers.get("Range"):
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.HTTPServer]:
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files, httpd.requests = {}, []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(httpd, path: str) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}{path}"


def test_fetch_verifies_and_renames(server, tmp_path: Path):
    data = b"hello bench" * 1000
    server.files["/a.bin"] = data
    dest = tmp_path / "a.bin"
    fetch(
        _url(server, "/a.bin"), dest, "sha256:" + hashlib.sha256(data).hexdigest(), progress=False
    )
    assert dest.read_bytes() == data
    assert not (tmp_path / "a.bin.part").exists()
    # A verified copy is not fetched again.
    fetch(_url(server, "/a.bin"), dest, "md5:" + hashlib.md5(data).hexdigest(), progress=False)
    assert len(server.requests) == 1


def test_fetch_resumes_a_partial_file(server, tmp_path: Path):
    data = bytes(range(256)) * 64
    server.files["/b.bin"] = data
    dest = tmp_path / "b.bin"
    (tmp_path / "b.bin.part").write_bytes(data[:1000])
    fetch(_url(server, "/b.bin"), dest, "md5:" + hashlib.md5(data).hexdigest(), progress=False)
    assert dest.read_bytes() == data
    assert server.requests == [("/b.bin", "bytes=1000-")]


def test_checksum_mismatch_is_refused_and_deleted(server, tmp_path: Path):
    server.files["/c.bin"] = b"tampered"
    dest = tmp_path / "c.bin"
    with pytest.raises(ChecksumError) as info:
        fetch(_url(server, "/c.bin"), dest, "sha256:" + "0" * 64, progress=False)
    assert "/c.bin" in str(info.value) and "expected " + "0" * 64 in str(info.value)
    assert not dest.exists() and not (tmp_path / "c.bin.part").exists()


def test_unreachable_url_names_url_and_path(tmp_path: Path):
    url = "http://127.0.0.1:9/nothing.tar.gz"  # the discard port: nothing listens
    with pytest.raises(DownloadError) as info:
        fetch(url, tmp_path / "nothing.tar.gz", None, timeout=5, progress=False)
    message = str(info.value)
    assert url in message and str(tmp_path / "nothing.tar.gz") in message and "\n" not in message


def test_http_error_is_a_download_error(server, tmp_path: Path):
    with pytest.raises(DownloadError, match="404"):
        fetch(_url(server, "/missing"), tmp_path / "m", None, progress=False)


def _tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_extract_tar_and_zip(tmp_path: Path):
    (tmp_path / "a.tar.gz").write_bytes(_tar_bytes({"top/x.txt": b"x", "top/sub/y.txt": b"y"}))
    extract(tmp_path / "a.tar.gz", tmp_path / "out")
    assert (tmp_path / "out" / "top" / "sub" / "y.txt").read_bytes() == b"y"
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as z:
        z.writestr("top/z.txt", "z")
    extract(tmp_path / "b.zip", tmp_path / "out")
    assert (tmp_path / "out" / "top" / "z.txt").read_text() == "z"
    assert (tmp_path / "out" / "top" / "x.txt").exists()  # merged, not replaced
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".extract-")]


def test_extract_refuses_path_traversal(tmp_path: Path):
    (tmp_path / "evil.tar.gz").write_bytes(_tar_bytes({"../escaped.txt": b"!"}))
    with pytest.raises(DataMissingError, match="outside"):
        extract(tmp_path / "evil.tar.gz", tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()


def test_damaged_archive_leaves_nothing(tmp_path: Path):
    data = _tar_bytes({"top/x.txt": b"x" * 10000})
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataMissingError, match="cannot extract"):
        extract(tmp_path / "cut.tar.gz", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def _error_lines(stderr: str) -> list[str]:
    """The CLI's error lines (a progress bar may share stderr)."""
    return [line for line in stderr.splitlines() if line.startswith("bench download: error:")]


def _cifar_archive(tmp_path: Path) -> bytes:
    build_cifar(tmp_path / "src")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return buf.getvalue()


def _point_cifar_at(monkeypatch, url: str, checksum: str) -> None:
    from bench.datasets import cifar

    spec = dict(cifar.VARIANTS["cifar10"])
    spec["resource"] = Resource(url, "cifar-10-python.tar.gz", checksum)
    monkeypatch.setitem(cifar.VARIANTS, "cifar10", spec)


def test_cli_download_fetches_verifies_and_loads(server, tmp_path, monkeypatch, capsys):
    archive = _cifar_archive(tmp_path)
    server.files["/cifar-10-python.tar.gz"] = archive
    _point_cifar_at(
        monkeypatch,
        _url(server, "/cifar-10-python.tar.gz"),
        "md5:" + hashlib.md5(archive).hexdigest(),
    )
    root = tmp_path / "data"
    assert main(["download", "cifar10", "--data-root", str(root)]) == 0
    assert "cifar10: downloaded" in capsys.readouterr().out
    assert not (root / "cifar10" / "cifar-10-python.tar.gz").exists()  # archive removed
    from bench.tasks import get_task

    assert len(get_task("cifar10").dataset("test", root=root)) == 2
    assert main(["download", "cifar10", "--data-root", str(root)]) == 0
    assert "cifar10: present" in capsys.readouterr().out


def test_cli_download_checksum_mismatch_exits_2(server, tmp_path, monkeypatch, capsys):
    server.files["/cifar-10-python.tar.gz"] = b"not the archive"
    _point_cifar_at(monkeypatch, _url(server, "/cifar-10-python.tar.gz"), "md5:" + "1" * 32)
    assert main(["download", "cifar10", "--data-root", str(tmp_path)]) == 2
    (err,) = _error_lines(capsys.readouterr().err)
    assert "md5" in err and "refused" in err
    assert not list((tmp_path / "cifar10").glob("cifar-10-python.tar.gz*"))


def test_cli_download_offline_one_line(tmp_path, monkeypatch, capsys):
    url = "http://127.0.0.1:9/cifar-10-python.tar.gz"
    _point_cifar_at(monkeypatch, url, "md5:" + "1" * 32)
    assert main(["download", "cifar10", "--data-root", str(tmp_path)]) == 2
    (err,) = _error_lines(capsys.readouterr().err)
    assert url in err and str(tmp_path / "cifar10" / "cifar-10-python.tar.gz") in err


def test_cli_download_manual_prints_steps(tmp_path, capsys):
    assert main(["download", "imagenet", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("imagenet: manual") and "image-net.org" in out
    assert str(tmp_path) in out


def test_cli_download_all_continues_and_reports(tmp_path, monkeypatch, capsys):
    calls = []

    def refuse(url, dest, checksum=None, **kwargs):
        calls.append(url)
        raise DownloadError(f"cannot download {url} to {dest}: offline")

    monkeypatch.setattr(_download, "fetch", refuse)
    assert main(["download", "all", "--data-root", str(tmp_path), "--json"]) == 2
    out = capsys.readouterr().out
    import json

    entries = json.loads(out[: out.rindex("]") + 1])
    status = {e["task"]: e["status"] for e in entries}
    assert status["imagenet"] == "manual" and status["objectnet"] == "manual"
    assert status["cifar10"] == "failed" and status["digits"] == "embedded"
    assert all(u.startswith(("http://", "https://")) for u in calls)


def test_cli_unknown_task(capsys):
    assert main(["download", "cifr10"]) == 2
    assert "did you mean 'cifar10'" in capsys.readouterr().err
