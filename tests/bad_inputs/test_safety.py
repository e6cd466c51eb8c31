"""Bad inputs that would run code, OS-level failures, and what downloads do to user files.

Each entry point that reads a user's file is fed a payload whose unpickling would create a
marker file: the marker never appears, and the CLI says one line and exits 2.
"""

from __future__ import annotations

import errno
import json
import os
import pickle

import pytest
import torch
from eval_fixtures import save_tiny
from fixtures_results import make_results
from train_fixtures import write_csv

from bench.cli import main
from bench.tasks import get_task

from .conftest import run_cli, snapshot


class _Payload:
    """Unpickling this creates ``marker``: the proof that a file ran code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil_torch_file(path, marker) -> None:
    torch.save({"optimizer": _Payload(str(marker)), "step": 1}, path)


@pytest.fixture
def run_dir(tmp_path):
    """A training data CSV and an output folder with one (crafted) checkpoint pair."""
    data, _ = write_csv(tmp_path / "data", 8)
    ckpts = tmp_path / "run" / "checkpoints"
    ckpts.mkdir(parents=True)
    torch.save({"x": torch.zeros(2)}, ckpts / "step_00000001.pt")
    return data, tmp_path / "run", ckpts


def _train(data, out, *extra):
    return run_cli(
        "train",
        "--set",
        f"data={data}",
        "--set",
        f"output_dir={out}",
        "--set",
        "steps=2",
        "--set",
        "workers=0",
        "--no-progress",
        *extra,
    )


def _zero_shot(tmp_path, task, *extra, env=None):
    """``bench run`` of a tiny random checkpoint on ``task`` (zero-shot, CPU, out under tmp)."""
    model = save_tiny(tmp_path / "tiny.pt")
    return run_cli(
        "run", "--model", str(model), "--tasks", task, "--suite", "zero-shot",
        "--out", str(tmp_path / "r"), "--device", "cpu", *extra, env=env,
    )  # fmt: skip


# ----------------------------------------------------------------------------- files that run code


def test_resume_from_a_crafted_train_state_runs_nothing(run_dir, tmp_path):
    data, out, ckpts = run_dir
    marker = tmp_path / "pwned"
    _evil_torch_file(ckpts / "step_00000001.train.pt", marker)
    before = snapshot(out)
    res = _train(data, out, "--resume", str(ckpts / "step_00000001.pt"))
    res.assert_one_line_error("step_00000001.train.pt", "pickled Python objects")
    assert not marker.exists()
    assert snapshot(out) == before


def test_run_with_a_crafted_checkpoint_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    _evil_torch_file(evil, marker)
    res = run_cli(
        "run", "--model", str(evil), "--suite", "zero-shot", "--tasks", "digits",
        "--out", str(tmp_path / "r"),
    )  # fmt: skip
    res.assert_one_line_error("evil.pt", "pickled Python objects")
    assert not marker.exists() and not (tmp_path / "r").exists()


def _evil_cifar(root, marker) -> None:
    folder = root / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({"data": _Payload(str(marker)), "labels": [0]}, f, protocol=2)


def test_cifar_batches_that_would_run_code_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    _evil_cifar(tmp_path / "data", marker)
    res = _zero_shot(tmp_path, "cifar10", "--data-root", str(tmp_path / "data"))
    assert not marker.exists()
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "test_batch" in res.stderr and "io.open is not allowed" in res.stderr


def test_cifar_reader_admits_only_the_globals_of_the_real_files(tmp_path):
    marker = tmp_path / "pwned"
    _evil_cifar(tmp_path, marker)
    from bench.errors import BenchError

    with pytest.raises(BenchError, match=r"test_batch is not a CIFAR batch.*io\.open"):
        get_task("cifar10").dataset("test", tmp_path)
    assert not marker.exists()


# ----------------------------------------------------------------------------- resume inputs


def test_resume_from_a_truncated_train_state(run_dir):
    data, out, ckpts = run_dir
    state = ckpts / "step_00000001.train.pt"
    torch.save({"optimizer": {}, "step": 1, "blob": torch.zeros(1000)}, state)
    state.write_bytes(state.read_bytes()[:300])
    before = snapshot(out)
    _train(data, out, "--resume", str(state)).assert_one_line_error(
        "step_00000001.train.pt", "truncated or corrupt"
    )
    assert snapshot(out) == before


def test_resume_with_a_corrupt_latest_json(run_dir):
    data, out, ckpts = run_dir
    (ckpts / "latest.json").write_text('{"step": 1, "weights": ', encoding="utf-8")
    before = snapshot(out)
    _train(data, out, "--resume").assert_one_line_error("latest.json", "corrupt")
    assert snapshot(out) == before


# ----------------------------------------------------------------------------- training data


def test_training_csv_that_is_not_utf8(tmp_path):
    data, _ = write_csv(tmp_path / "data", 8)
    data.write_bytes(data.read_bytes().replace(b"a red square", b"a r\xe9d square"))
    _train(data, tmp_path / "run").assert_one_line_error("pairs.csv", "not UTF-8")


def test_training_csv_with_an_unterminated_quote(tmp_path):
    data, _ = write_csv(tmp_path / "data", 8)
    lines = data.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",", ',"', 1)  # opens a quote that never closes
    lines.append('images/x.png,"a quoted caption, closed"')
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = _train(data, tmp_path / "run")
    res.assert_one_line_error("pairs.csv", "unterminated quote")
    assert "rows were read" in res.stderr or "line" in res.stderr


# ----------------------------------------------------------------------------- task and report input


def test_typo_in_source_options_names_the_option_and_the_valid_ones(monkeypatch):
    import dataclasses

    from bench.errors import BenchError

    task = get_task("cifar10")
    bad = dataclasses.replace(task.source, options={"varient": "cifar10"})
    task = dataclasses.replace(task, source=bad)
    with pytest.raises(BenchError, match=r"'varient'.*'cifar'.*valid options: variant"):
        task.is_present()
    with pytest.raises(BenchError, match=r"'varient'"):
        task.dataset("test")


@pytest.mark.parametrize("command", ["report", "plot"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_bootstrap_must_be_positive(tmp_path, command, value):
    out = tmp_path / "out"
    args = [command, "--results", str(tmp_path), "--bootstrap", value]
    args += (
        ["--out", str(out)] if command == "report" else ["effective-robustness", "--out", str(out)]
    )
    rc = main(args)
    assert rc == 2 and not out.exists()


def test_bootstrap_zero_is_one_line_from_the_cli(tmp_path):
    res = run_cli(
        "report", "--results", str(tmp_path), "--bootstrap", "0", "--out", str(tmp_path / "o")
    )
    res.assert_one_line_error("--bootstrap 0", "at least 1")


# ----------------------------------------------------------------------------- OS-level failures


def test_out_pointing_at_a_file(tmp_path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("mine\n", encoding="utf-8")
    results = make_results(tmp_path / "results")
    res = run_cli("report", "--results", str(results), "--out", str(blocker / "sub"))
    res.assert_one_line_error("report.txt")
    assert blocker.read_text(encoding="utf-8") == "mine\n"


def test_disk_full_while_writing_keeps_the_old_file(tmp_path, monkeypatch, capsys):
    from bench import io

    target = tmp_path / "results" / "x.json"
    io.atomic_write_json(target, {"kept": True})
    real_replace = os.replace

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))

    monkeypatch.setattr(io.os, "replace", full)
    from bench.errors import BenchError

    with pytest.raises(BenchError, match=r"cannot write .*x\.json: No space left.*free some space"):
        io.atomic_write_json(target, {"kept": False})
    monkeypatch.setattr(io.os, "replace", real_replace)
    assert json.loads(target.read_text(encoding="utf-8")) == {"kept": True}
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"]  # no temp file left


@pytest.mark.parametrize("err", [errno.EROFS, errno.EACCES])
def test_read_only_folder_is_one_line(tmp_path, monkeypatch, capsys, err):
    """Tests run as root here, so a read-only folder is simulated at the writer."""
    from bench import io

    def refuse(path, *a, **kw):
        raise OSError(err, os.strerror(err), str(path))

    out = tmp_path / "report"
    results = make_results(tmp_path / "results")
    monkeypatch.setattr(io.os, "open", refuse)
    rc = main(["report", "--results", str(results), "--out", str(out)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and str(out) in lines[0], lines
    assert os.strerror(err) in lines[0]


def test_an_uncaught_os_error_is_one_line(monkeypatch, capsys):
    import bench.cli.report as report_cli

    def boom(args):
        raise PermissionError(errno.EACCES, "Permission denied", "/some/where")

    monkeypatch.setattr(report_cli, "run", boom)  # read when the parser is built
    assert main(["report", "--results", "x"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "/some/where" in lines[0] and "Permission denied" in lines[0]


def test_bench_cache_pointing_at_a_file(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder\n", encoding="utf-8")
    res = _zero_shot(tmp_path, "digits", env={"BENCH_CACHE": str(blocker)})
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert str(blocker) in res.stderr
    assert blocker.read_text(encoding="utf-8") == "not a folder\n"


# ----------------------------------------------------------------------------- umask


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mode):
    from bench import io

    old = os.umask(umask)
    try:
        io.atomic_write_text(tmp_path / "a.txt", "x")
        with io.atomic_path(tmp_path / "b.pt") as tmp:
            torch.save({"x": torch.zeros(1)}, tmp)
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == mode
    assert (tmp_path / "b.pt").stat().st_mode & 0o777 == mode
