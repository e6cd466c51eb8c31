"""Bad inputs for features, metrics and partial data: NaN weights, incomplete splits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from PIL import Image

from bench.models import CLIP, get_config


def _checkpoint(path: Path, nan: bool) -> Path:
    torch.manual_seed(0)
    sd = CLIP(get_config("tiny-vit")).state_dict()
    if nan:
        sd["visual.conv1.weight"].view(-1)[0] = float("nan")
    torch.save(sd, path)
    return path


def _eurosat_with_3_test_images(root: Path) -> Path:
    """EuroSAT's on-disk format with one class of 1,003 images: the seeded per-class sample
    takes 1,000 for train and leaves 3 test images where the task file expects 5,000."""
    folder = root / "eurosat" / "2750" / "River"
    folder.mkdir(parents=True)
    for i in range(1003):
        Image.new("RGB", (4, 4), (i % 256, 0, 0)).save(folder / f"River_{i + 1}.jpg")
    return root


def test_nan_checkpoint_fails_the_task_naming_model_task_split_and_count(cli, tmp_path):
    ckpt = _checkpoint(tmp_path / "nanmodel.pt", nan=True)
    run = cli("run", "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "digits",
              "--out", str(tmp_path / "r"), "--workers", "0", "--quiet")  # fmt: skip
    run.assert_one_line_error("'nanmodel'", "'digits'", "'test'", "NaN or Inf")
    assert re.search(r"\b\d+ of \d+ image embedding values", run.stderr), run.stderr
    assert not (tmp_path / "r" / "nanmodel" / "digits" / "zero-shot.json").exists()


def test_too_few_test_images_names_expected_and_found_then_allow_partial(cli, tmp_path):
    data = _eurosat_with_3_test_images(tmp_path / "data")
    ckpt = _checkpoint(tmp_path / "tiny.pt", nan=False)
    args = ["run", "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "eurosat",
            "--out", str(tmp_path / "r"), "--data-root", str(data), "--workers", "0",
            "--quiet"]  # fmt: skip
    run = cli(*args)
    run.assert_one_line_error("'eurosat'", "'test'", "found 3", "expects 5000", "--allow-partial")
    result = tmp_path / "r" / "tiny" / "eurosat" / "zero-shot.json"
    assert not result.exists()
    ok = cli(*args, "--allow-partial")
    assert ok.returncode == 0, ok.stderr
    saved = json.loads(result.read_text())
    assert saved["partial"] is True
    assert saved["n_found"] == {"test": 3} and saved["n_expected"] == {"test": 5000}
