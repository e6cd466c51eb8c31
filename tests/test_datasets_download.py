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
import yaml
from _datasets_fixtures import build_cifar
from _tasks_fixtures import build_imagefolder, imagefolder_task_dir, task_yaml, write_task

from bench.cli import main
from bench.datasets import _download
from bench.datasets._download import DownloadError, extract, fetch
from bench.errors import BenchError, ChecksumError, DataMissingError


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
    """``bench download cifar10`` sees a task whose ``source.files`` is ``url`` only."""
    import dataclasses

    import bench.tasks
    from bench.tasks.task import FileSpec

    real = bench.tasks.get_task
    task = real("cifar10")
    files = (FileSpec(url, "cifar-10-python.tar.gz", checksum),)
    moved = dataclasses.replace(task, source=dataclasses.replace(task.source, files=files))
    monkeypatch.setattr(bench.tasks, "get_task", lambda n: moved if n == "cifar10" else real(n))


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


def _yaml_files(name: str) -> list[dict]:
    """``source.files`` of ``tasks/<name>.yaml`` as YAML reads it (not through bench)."""
    text = (Path(__file__).parents[1] / "tasks" / f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["source"].get("files") or []


DOWNLOADABLE = sorted(p.stem for p in (Path(__file__).parents[1] / "tasks").glob("*.yaml")
                      if _yaml_files(p.stem))  # fmt: skip


def test_downloadable_tasks_are_the_expected_ones():
    assert len(DOWNLOADABLE) == 26 and {"cifar10", "cifar100", "pcam", "mnist"} <= set(DOWNLOADABLE)


@pytest.mark.parametrize("name", DOWNLOADABLE)
def test_download_fetches_exactly_the_task_files(name, tmp_path, monkeypatch):
    """`bench download NAME` asks for each ``source.files`` entry, in order, with its
    checksum, to a file of that name under the task's folder, and nothing else."""
    from bench.cli.download import fetch_task
    from bench.tasks import get_task

    calls = []

    def record(url, dest, checksum=None, **kwargs):
        calls.append((url, Path(dest), checksum))
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        Path(dest).write_bytes(b"")
        return Path(dest)

    monkeypatch.setattr(_download, "fetch", record)
    unpacked = []

    def unpack(archive, dest):
        unpacked.append((Path(archive).name, Path(dest)))
        return Path(dest)

    monkeypatch.setattr(_download, "extract", unpack)
    try:
        fetch_task(get_task(name), str(tmp_path))
    except (OSError, BenchError):
        pass  # post-processing of the empty stand-in files (birdsnap reads its list)
    expected = _yaml_files(name)
    assert [(u, c) for u, _, c in calls] == [(f["url"], f["checksum"]) for f in expected]
    assert [d.name for _, d, _ in calls] == [f["filename"] for f in expected]
    assert all(d.is_relative_to(tmp_path / name) for _, d, _ in calls)
    folders = {d.name: d.parent for _, d, _ in calls}
    assert unpacked == [
        (f["filename"], folders[f["filename"]] / f.get("extract_to", ""))
        for f in expected
        if f.get("extract", True)
    ]


def test_a_wrong_checksum_in_the_task_file_is_refused(server, tmp_path, capsys):
    """The built-in flow: the YAML's md5 does not match what the server sends."""
    archive = _tar_bytes({"test/0_red/0.png": b"x"})
    server.files["/colours.tar.gz"] = archive
    tasks_dir = _user_task_with_files(tmp_path, _url(server, "/colours.tar.gz"), "md5:" + "2" * 32)
    root = tmp_path / "fetched"
    argv = ["download", "colours", "--tasks-dir", str(tasks_dir), "--data-root", str(root)]
    assert main(argv) == 2
    (err,) = _error_lines(capsys.readouterr().err)
    assert "md5" in err and "2" * 32 in err and "refused" in err
    assert not (root / "colours" / "test").exists()
    assert not list((root / "colours").glob("colours.tar.gz*"))


def _user_task_with_files(tmp_path: Path, url: str, checksum: str) -> Path:
    """A user imagefolder task ``colours`` whose ``source.files`` is one archive at ``url``."""
    files = f"  files:\n    - url: {url!r}\n      filename: colours.tar.gz\n      checksum: {checksum}\n"
    folders = "{folders: {red: 0_red, green: 1_green, blue: 2_blue}}"
    text = task_yaml("colours", "imagefolder", folders, train=18, test=9, val=6, source=files)
    write_task(tmp_path / "mytasks", "colours", text)
    return tmp_path / "mytasks"


def test_user_imagefolder_task_with_files_downloads(server, tmp_path, capsys):
    build_imagefolder(tmp_path / "src", {"train": 6, "test": 3})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "train", arcname="train")
        tar.add(tmp_path / "src" / "test", arcname="test")
    server.files["/colours.tar.gz"] = buf.getvalue()
    md5 = "md5:" + hashlib.md5(buf.getvalue()).hexdigest()
    tasks_dir = _user_task_with_files(tmp_path, _url(server, "/colours.tar.gz"), md5)
    root = tmp_path / "fetched"
    argv = ["download", "colours", "--tasks-dir", str(tasks_dir), "--data-root", str(root)]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("colours: downloaded")
    assert server.requests == [("/colours.tar.gz", None)]
    from bench.tasks import get_task

    test = get_task("colours").dataset("test", root=root)
    assert sorted(test.labels) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert main(argv) == 0 and "colours: present" in capsys.readouterr().out
    assert len(server.requests) == 1


def test_user_task_without_files_still_prints_the_layout(tmp_path, capsys):
    """No ``source.files``: `bench download` says which files to put where, as before."""
    from bench.datasets import imagefolder

    tasks_dir = imagefolder_task_dir(tmp_path)
    argv = ["download", "colours", "--tasks-dir", str(tasks_dir), "--data-root", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    expected = imagefolder.LAYOUT.replace("<data root>", str(tmp_path))
    assert out == f"colours: manual ({tmp_path / 'colours'}): {expected}\n"


def test_files_for_a_loader_that_cannot_download_are_refused(tmp_path, capsys):
    files = "  files:\n    - {url: 'https://x.org/a.zip', filename: a.zip, checksum: null}\n"
    text = task_yaml("mine", "imagenet", "{}", train=18, test=9, val=6, source=files)
    write_task(tmp_path / "mytasks", "mine", text)
    argv = ["download", "mine", "--tasks-dir", str(tmp_path / "mytasks")]
    assert main([*argv, "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "loader 'imagenet' cannot download" in err and "imagefolder" in err
