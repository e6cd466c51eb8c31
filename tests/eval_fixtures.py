"""Helpers shared by the tests/test_eval_*.py files: a tiny random CLIP checkpoint and a CLI runner."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
import torch

from bench.cli import main


@pytest.fixture(autouse=True)
def _one_thread():
    """The tiny problems here are far faster on one thread (no contention on shared CPUs)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_model(seed: int = 0):
    """A random tiny-vit CLIP (32 px, 64-d embeddings)."""
    from bench.models import CLIP, get_config

    torch.manual_seed(seed)
    return CLIP(get_config("tiny-vit")).eval()


def save_tiny(path: Path, seed: int = 0) -> Path:
    """Saves a tiny random CLIP's state dict (``torch.save``) to ``path``."""
    torch.save(tiny_model(seed).state_dict(), path)
    return path


def run_cli(*argv: str) -> tuple[int, str, str]:
    """Runs ``bench *argv`` in-process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str) -> dict:
    code, out, err = run_cli(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


def tiny_eval_model(seed: int = 0):
    """:func:`tiny_model` behind the evaluation seam (``bench.models.seam.ClipModel``)."""
    from bench.models import ClipModel

    return ClipModel(tiny_model(seed), f"tiny-{seed}")


def split_features(x: torch.Tensor, y: torch.Tensor, side: dict | None = None):
    """A :class:`bench.features.SplitFeatures` of given rows (the probe features = ``x``)."""
    from bench.features import SplitFeatures

    return SplitFeatures(x, x, y, side or {}, n_found=len(y))


PLAIN_STATE_DICT_WARNING = re.compile(r"^warning: .* is a plain state dict; .*assumed")


def error_lines(stderr: str) -> list[str]:
    """stderr's non-empty lines, less the documented warning that a plain state dict was read
    with OpenAI's conventions (bench.models.families.bench), which tiny test checkpoints get."""
    return [
        ln for ln in stderr.splitlines() if ln.strip() and not PLAIN_STATE_DICT_WARNING.match(ln)
    ]
