"""The bad-input corpus: the CLI driven as a user would, one case per bad input.

Each case checks the exit status (2), that stderr is one line with no traceback, that it
names the bad value, and that files written before are intact (:func:`snapshot`).
Cases live in ``test_<area>.py`` files beside this one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
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
) -> CliRun:
    """Runs ``python -m bench ARGS`` in a subprocess (the test's BENCH_CACHE/BENCH_DATA)."""
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
