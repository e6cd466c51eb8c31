"""Bad inputs to distributed and tensor-path runs: an unknown ``--decode`` and a ``WORLD_SIZE``
that is no integer. Each is one line, exit 2, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_fixtures import save_tiny

from .conftest import run_cli, snapshot


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_tiny(tmp_path / "tiny.pt")


def _run(ckpt: Path, out: Path, *args: str, env: dict | None = None):
    return run_cli(
        "run", "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "digits", "--out",
        str(out), "--workers", "0", "--device", "cpu", "--quiet", *args, env=env,
    )  # fmt: skip


def test_unknown_decode_names_the_choices(ckpt: Path, tmp_path: Path):
    before = snapshot(tmp_path)
    _run(ckpt, tmp_path / "r", "--decode", "tpu").assert_one_line_error("'tpu'", "cpu, gpu")
    assert snapshot(tmp_path) == before


def test_a_world_size_that_is_no_integer_says_to_use_torchrun(ckpt: Path, tmp_path: Path):
    before = snapshot(tmp_path)
    run = _run(ckpt, tmp_path / "r", env={"WORLD_SIZE": "two"})
    run.assert_one_line_error("WORLD_SIZE='two'", "torchrun")
    assert snapshot(tmp_path) == before
