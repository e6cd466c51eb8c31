"""Bad input: user task files and --tasks-dir (one line, exit 2, nothing written)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _tasks_fixtures import colour_image, imagefolder_task_dir

from .conftest import run_cli, snapshot


@pytest.fixture
def tasks_dir(tmp_path: Path) -> Path:
    return imagefolder_task_dir(tmp_path)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_unknown_key_in_a_user_task_file(tasks_dir: Path):
    _edit(tasks_dir / "colours.yaml", "licence:", "colour: red\nlicence:")
    run = run_cli("tasks", "colours", "--tasks-dir", str(tasks_dir))
    run.assert_one_line_error("colours.yaml", "unknown key 'colour'", "valid keys")


def test_missing_classes_in_a_user_task_file(tasks_dir: Path):
    _edit(tasks_dir / "colours.yaml", "classes: [red, green, blue]\n", "")
    run = run_cli("tasks", "colours", "--tasks-dir", str(tasks_dir))
    run.assert_one_line_error("colours.yaml", "missing required key 'classes'")


def test_class_folder_not_in_classes(tasks_dir: Path, tmp_path: Path):
    from eval_fixtures import save_tiny

    colour_image(tmp_path / "data" / "colours" / "test" / "purple" / "0.png", "red", 0)
    ckpt = save_tiny(tmp_path / "tiny.pt")
    out = tmp_path / "results"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    before = snapshot(out)
    run = run_cli(
        "run", "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "colours",
        "--tasks-dir", str(tasks_dir), "--out", str(out), "--device", "cpu", "--workers", "0",
        env={"BENCH_DATA": str(tmp_path / "data")},
    )  # fmt: skip
    run.assert_one_line_error("purple", "is not a class of the task", "valid folders: 0_red")
    assert snapshot(out) == before


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_tasks_dir_that_is_not_a_folder(tmp_path: Path, kind: str):
    path = tmp_path / "nope"
    if kind == "file":
        path.write_text("x")
    run = run_cli("tasks", "--tasks-dir", str(path))
    what = "does not exist" if kind == "missing" else "is a file, not a folder"
    run.assert_one_line_error("--tasks-dir", str(path), what, "folder of task YAML files")


def test_tasks_path_env_that_does_not_exist(tmp_path: Path):
    run = run_cli("tasks", env={"BENCH_TASKS_PATH": str(tmp_path / "gone")})
    run.assert_one_line_error("BENCH_TASKS_PATH", str(tmp_path / "gone"), "does not exist")


def test_user_task_with_a_builtin_name(tasks_dir: Path):
    (tasks_dir / "cifar10.yaml").write_text((tasks_dir / "colours.yaml").read_text())
    run = run_cli("tasks", "--tasks-dir", str(tasks_dir))
    run.assert_one_line_error("cifar10.yaml", "'cifar10'", "cannot collide", "rename")


def test_using_a_broken_user_task_in_bench_run(tasks_dir: Path, tmp_path: Path):
    _edit(tasks_dir / "colours.yaml", "metric: accuracy", "metric: acuracy")
    out = tmp_path / "results"
    run = run_cli(
        "run", "--model", "ViT-B/32", "--suite", "zero-shot", "--tasks", "colours",
        "--tasks-dir", str(tasks_dir), "--out", str(out),
    )  # fmt: skip
    run.assert_one_line_error("colours.yaml", "unknown metric 'acuracy'", "valid metrics")
    assert not out.exists()


def test_download_hf_for_a_task_without_mirror():
    run = run_cli("download", "birdsnap", "--source", "hf")
    run.assert_one_line_error("'birdsnap' has no mirror", "bench download birdsnap")


_GOOD_FILE = "{url: 'https://example.org/c.tar.gz', filename: c.tar.gz, checksum: null}"
_MD5 = "md5:" + "0" * 32


@pytest.mark.parametrize(
    ("entry", "names"),
    [
        ("{url: 'https://x.org/a.zip', filename: a.zip, checksum: 'md5:abc'}",
         ["source.files[0].checksum", "'md5:abc'", "32 hex digits", "or null"]),
        ("{url: 'https://x.org/a.zip', filename: a.zip, checksum: 'sha256:" + "f" * 63 + "'}",
         ["source.files[0].checksum", "'sha256:' and 64 hex digits"]),
        ("{url: 'https://x.org/a.zip', filename: a.zip, checksum: 'sha1:" + "f" * 40 + "'}",
         ["source.files[0].checksum", "'md5:' and 32 hex digits"]),
        (f"{{url: 'https://x.org/a.zip', filename: a.zip, md5: '{'0' * 32}'}}",
         ["source.files[0]", "unknown key 'md5'", "valid keys: url, filename, checksum"]),
        ("{url: 'https://x.org/a.zip', filename: a.zip}",
         ["missing required key 'checksum' in source.files[0]"]),
        (f"{{url: 'https://x.org/l.mat', filename: l.mat, checksum: '{_MD5}'}}",
         ["source.files[0].extract", "'l.mat' is not an archive", "set extract: false"]),
        ("{url: 'https://x.org/a.zip', filename: ../a.zip, checksum: null}",
         ["source.files[0].filename", "'../a.zip'", "plain file name"]),
        ("{url: 'ftp://x.org/a.zip', filename: a.zip, checksum: null}",
         ["source.files[0].url", "'ftp://x.org/a.zip'", "https://"]),
        ("{url: 'https://x.org/a.zip', filename: a.zip, checksum: null, extract_to: /abs}",
         ["source.files[0].extract_to", "'/abs'", "relative folder"]),
        ("{url: 'https://x.org/a.zip', filename: a.zip, checksum: null, extract: 'yes'}",
         ["source.files[0].extract must be bool", "'yes'"]),
        ("{url: 'https://x.org/b.tar.gz', filename: c.tar.gz, checksum: null}",
         ["source.files[1].filename", "'c.tar.gz' is listed twice"]),
    ],
    ids=["md5-short", "sha256-63", "sha1", "md5-key", "no-checksum", "not-archive",
         "filename-escapes", "ftp", "extract-to-absolute", "extract-not-bool", "twice"],
)  # fmt: skip
def test_malformed_source_files_entry(tasks_dir: Path, tmp_path: Path, entry: str, names):
    """`bench download` of a user task whose ``source.files`` entry is malformed: one line
    naming the file, the entry and the key; nothing is fetched or written."""
    files = f"[{_GOOD_FILE}, {entry}]" if names[0].startswith("source.files[1]") else f"[{entry}]"
    _edit(tasks_dir / "colours.yaml", "citation:", f"  files: {files}\ncitation:")
    data = tmp_path / "fresh"
    run = run_cli("download", "colours", "--tasks-dir", str(tasks_dir), "--data-root", str(data))
    run.assert_one_line_error("colours.yaml", *names)
    assert not data.exists()


def test_malformed_source_files_in_bench_tasks(tasks_dir: Path):
    _edit(tasks_dir / "colours.yaml", "citation:", "  files: {url: x}\ncitation:")
    run = run_cli("tasks", "colours", "--tasks-dir", str(tasks_dir))
    run.assert_one_line_error("colours.yaml", "source.files must be a list", "{'url': 'x'}")
