"""The bad-input corpus: the CLI driven as a user would, one case per bad input.

Each case checks the exit status (2), that stderr is one line with no traceback, that it
names the bad value, and that files written before are intact (:func:`snapshot`).
Cases live in ``test_<area>.py`` files beside this one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from eval_fixtures import error_lines


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def assert_one_line_error(self, *names: str) -> None:
        """Exit 2, one stderr line without a traceback, naming each of ``names``."""
        lines = error_lines(self.stderr)
        assert self.returncode == 2, (self.returncode, self.stderr[-2000:])
        assert "Traceback" not in self.stderr, self.stderr[-2000:]
        assert len(lines) == 1, self.stderr[-2000:]
        for name in names:
            assert name in lines[0], (name, lines[0])


def run_cli(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    env: dict | None = None,
    timeout: float = 300,
    process: bool = False,
) -> CliRun:
    """Runs ``bench ARGS`` as a user would, with the test's BENCH_CACHE/BENCH_DATA.

    In-process through ``bench.cli.main`` by default (a Python process per case costs seconds
    of imports): stdout and stderr are captured, Python warnings are printed to stderr as the
    interpreter would, ``SystemExit`` gives the exit status and any other exception becomes a
    traceback on stderr and exit 1, as in a process. ``process=True`` (or
    ``BENCH_CORPUS_PROCESS=1`` for the whole corpus) runs ``python -m bench ARGS`` in a
    subprocess instead: for cases that need a fresh interpreter (``PYTHONPATH``).
    """
    if process or os.environ.get("BENCH_CORPUS_PROCESS") == "1" or "PYTHONPATH" in (env or {}):
        run = _in_subprocess(args, cwd, env, timeout)
    else:
        run = _in_process(args, cwd, env)
    _log(args, run.returncode, run.stderr)
    return run


def _in_subprocess(args, cwd, env, timeout) -> CliRun:  # noqa: ANN001
    full_env = {**os.environ, "TQDM_DISABLE": "1", **(env or {})}
    # Outside the checkout: `python -m bench` would import ./bench (which lacks the wheel's
    # bench.taskfiles) instead of the installed package the tests are about.
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=cwd if cwd is not None else tempfile.gettempdir(),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


@contextlib.contextmanager
def _environ(env: dict, cwd: str | os.PathLike[str] | None):
    saved, here = {k: os.environ.get(k) for k in env}, os.getcwd()
    os.environ.update(env)
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(here)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _in_process(args, cwd, env) -> CliRun:  # noqa: ANN001
    from bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with (
        _environ({"TQDM_DISABLE": "1", **(env or {})}, cwd),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("default")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except Exception:  # what a process would print before exiting 1
                err.write(traceback.format_exc())
                code = 1
    for w in caught:
        err.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno))
    return CliRun(code, out.getvalue(), err.getvalue())


def _log(args: tuple[str, ...], returncode: int, stderr: str) -> None:
    """With ``BENCH_CORPUS_LOG=FILE``, appends each run's case, exit status and message lines
    to FILE (JSON lines): how the note's list of every case and its message is made."""
    path = os.environ.get("BENCH_CORPUS_LOG")
    if path:
        case = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
        row = {"case": case, "args": list(args), "exit": returncode,
               "lines": error_lines(stderr)}  # fmt: skip
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


def snapshot(root: str | os.PathLike[str]) -> dict[str, str]:
    """sha256 of every file under ``root``, to show that nothing written before changed."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(autouse=True)
def _log_in_process_cases(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """With ``BENCH_CORPUS_LOG``, also logs what cases that call ``bench.cli.main`` themselves
    (with ``capsys``) read from stderr."""
    if not os.environ.get("BENCH_CORPUS_LOG") or "capsys" not in request.fixturenames:
        yield
        return
    capsys = request.getfixturevalue("capsys")
    read = capsys.readouterr

    def logged():  # noqa: ANN202
        captured = read()
        _log(("(in-process main)",), -1, captured.err)
        return captured

    monkeypatch.setattr(capsys, "readouterr", logged)
    yield
