"""Bad input to ``bench run --suite bias``: a FairFace label CSV that is not FairFace's.

Each fails the task with one line naming the bad column or value, the valid ones and the fix;
nothing is written.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _datasets_fixtures import write_fairface
from eval_fixtures import save_tiny

from .conftest import run_cli, snapshot


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "data" / "fairface"
    write_fairface(root, n=9, size=8)
    return save_tiny(tmp_path / "tiny.pt"), root / "fairface_label_val.csv"


def _run(ckpt: Path, tmp_path: Path):
    return run_cli(
        "run", "--model", str(ckpt), "--suite", "bias", "--out", str(tmp_path / "r"),
        "--data-root", str(tmp_path / "data"), "--device", "cpu", "--workers", "0", "--quiet",
        "--allow-partial",
    )  # fmt: skip


def test_label_csv_without_race_column(setup, tmp_path: Path):
    ckpt, labels = setup
    lines = labels.read_text().splitlines()
    labels.write_text("\n".join(ln.replace(",race,", ",ethnicity,") for ln in lines) + "\n")
    before = snapshot(tmp_path)
    run = _run(ckpt, tmp_path)
    run.assert_one_line_error("fairface_label_val.csv", "no column(s) race", "ethnicity")
    assert snapshot(tmp_path) == before and not (tmp_path / "r").exists()


def test_race_outside_fairface(setup, tmp_path: Path):
    ckpt, labels = setup
    labels.write_text(labels.read_text().replace(",White,", ",Martian,", 1))
    run = _run(ckpt, tmp_path)
    run.assert_one_line_error("line 2", "race 'Martian'", "Latino_Hispanic", "fairface_label_val")
    assert not (tmp_path / "r").exists()
