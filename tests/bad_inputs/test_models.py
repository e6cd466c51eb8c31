"""Bad input: model names and weights of every family (one line, exit 2, nothing changed).

Driven through ``bench models --family`` and ``bench models --resolve MODEL [--weights PATH]``,
which resolve a name exactly as ``bench run --model`` will (nothing is loaded).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from models_fixtures import ODD_VIT, random_state_dict

from .conftest import run_cli, snapshot


def _save(sd: dict[str, torch.Tensor], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sd, path)
    return path


def _check(run, root: Path, before: dict[str, str], *names: str) -> None:  # noqa: ANN001
    run.assert_one_line_error(*names)
    assert snapshot(root) == before


def test_unknown_family():
    run_cli("models", "--family", "open_clp").assert_one_line_error(
        "unknown model family 'open_clp'", "open_clip", "bench models"
    )


def test_unknown_family_prefix_in_a_model_name():
    run_cli("models", "--resolve", "openclip:ViT-B-32").assert_one_line_error(
        "unknown model 'openclip:ViT-B-32'", "open_clip", "bench models"
    )


def test_open_clip_unknown_architecture(tmp_path: Path):
    pytest.importorskip("open_clip")
    weights = _save(random_state_dict(ODD_VIT), tmp_path / "w.pt")
    before = snapshot(tmp_path)
    run = run_cli("models", "--resolve", "open_clip:ViT-B-23", "--weights", str(weights))
    _check(run, tmp_path, before, "'ViT-B-23'", "ViT-B-32", "bench models --family open_clip")


def test_plain_state_dict_of_unknown_vocabulary(tmp_path: Path):
    weights = _save(random_state_dict(ODD_VIT), tmp_path / "odd.pt")  # 500 tokens
    before = snapshot(tmp_path)
    run = run_cli("models", "--resolve", str(weights))
    _check(run, tmp_path, before, "odd.pt", "500 tokens", "--model open_clip:ARCH --weights PATH")


def test_plain_state_dict_of_unknown_head_width(tmp_path: Path):
    # OpenAI's vocabulary, but a text width of 96: 64-wide heads would not divide it
    config = dataclasses.replace(ODD_VIT, vocab_size=49408, transformer_width=96,
                                 transformer_heads=1)  # fmt: skip
    weights = _save(random_state_dict(config), tmp_path / "wide.pt")
    before = snapshot(tmp_path)
    run = run_cli("models", "--resolve", str(weights))
    _check(run, tmp_path, before, "text width 96", "heads", "--model openai:ViT-B/32 --weights")


@pytest.mark.parametrize(
    ("edit", "family"),
    [
        (lambda sd: {k.replace("visual.", "visual.trunk.", 1): v for k, v in sd.items()},
         "timm image tower"),
        (lambda sd: {**sd, "logit_bias": torch.tensor([-10.0])}, "SigLIP"),
    ],
)  # fmt: skip
def test_state_dict_of_another_family(tmp_path: Path, edit, family: str):  # noqa: ANN001
    weights = _save(edit(random_state_dict(ODD_VIT)), tmp_path / "other.pt")
    before = snapshot(tmp_path)
    run = run_cli("models", "--resolve", str(weights))
    _check(run, tmp_path, before, "other.pt", family, "--model open_clip:ARCH --weights PATH")


@pytest.mark.parametrize(
    ("package", "args", "extra"),
    [
        ("open_clip", ("--family", "open_clip"), "bench[open_clip]"),
        ("transformers", ("--resolve", "hf:org/name"), "bench[hf]"),
    ],
)
def test_missing_extra(tmp_path: Path, package: str, args: tuple[str, ...], extra: str):
    shadow = tmp_path / "shadow" / package  # hides the installed package from the subprocess
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f'raise ImportError("No module named {package}")\n')
    run = run_cli("models", *args, env={"PYTHONPATH": str(tmp_path / "shadow")})
    run.assert_one_line_error(package, f"pip install '{extra}'")


def test_hf_folder_that_does_not_exist(tmp_path: Path):
    missing = tmp_path / "no_such_folder"
    run = run_cli("models", "--resolve", f"hf:{missing}")
    run.assert_one_line_error(str(missing), "does not exist", "save_pretrained")
    assert not missing.exists()


def test_weights_without_resolve(tmp_path: Path):
    run_cli("models", "--weights", str(tmp_path / "x.pt")).assert_one_line_error(
        "--weights", "--resolve MODEL"
    )
