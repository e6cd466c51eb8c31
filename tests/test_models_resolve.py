"""Resolving names: the nine, ``bench train`` checkpoints (metadata sidecar), and plain state
dicts, which are never evaluated under a hidden assumption."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bench.errors import BenchError, UnknownNameError
from bench.models import CLIP, get_config, resolve
from bench.train.checkpoint import save_checkpoint


def tiny_sd(**changes) -> dict[str, torch.Tensor]:  # noqa: ANN003
    torch.manual_seed(0)
    return CLIP(dataclasses.replace(get_config("tiny-vit"), **changes)).state_dict()


def test_the_nine_keep_their_names_and_slugs() -> None:
    for name, prefixed in (("ViT-B/32", "openai:ViT-B/32"), ("ViT-B-32", "openai:ViT-B-32")):
        a, b = resolve(name), resolve(prefixed)
        assert (a.name, a.slug, a.family) == (b.name, b.slug, b.family) == (
            "ViT-B/32", "ViT-B-32", "openai")  # fmt: skip
        assert a.weights_sha256.startswith("40d36571")
    with pytest.raises(UnknownNameError, match="FAMILY:NAME"):
        resolve("ViT-Q/99")


def test_bench_checkpoint_carries_its_architecture(tmp_path, capsys) -> None:  # noqa: ANN001
    config = dataclasses.replace(get_config("tiny-vit"), activation="gelu")
    torch.manual_seed(0)
    model = CLIP(config)
    ckpt = save_checkpoint(tmp_path / "myrun" / "checkpoints", 7, model,
                           {"config": {"output_dir": str(tmp_path / "myrun")}})  # fmt: skip
    handle = resolve(str(ckpt.weights))
    assert (handle.name, handle.family, handle.assumptions) == ("myrun@step7", "bench", ())
    assert "warning" not in capsys.readouterr().err
    loaded = handle.load("cpu")
    assert loaded.module.config == config  # GELU kept, not QuickGELU
    images = torch.randn(2, 3, config.image_resolution, config.image_resolution)
    with torch.no_grad():
        assert torch.equal(loaded.encode_image(images), model.eval().encode_image(images))
    ckpt.weights.write_bytes(ckpt.weights.read_bytes() + b"x")
    with pytest.raises(BenchError, match="sha256 differs"):
        resolve(str(ckpt.weights))


def test_plain_openai_layout_loads_with_warning_and_assumptions(tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "plain.pt"
    torch.save(tiny_sd(), path)
    handle = resolve(str(path))
    err = capsys.readouterr().err
    assert "warning" in err and "QuickGELU" in err and "64 wide" in err
    assert any("QuickGELU" in a for a in handle.assumptions)
    assert handle.load("cpu").assumptions == handle.assumptions


@pytest.mark.parametrize(
    ("extra_key", "family"),
    [("visual.trunk.stem.weight", "timm"), ("logit_bias", "SigLIP"),
     ("text_decoder.x", "CoCa"), ("visual.blocks.0.w", "EVA"),
     ("vision_model.embeddings.x", "Hugging Face")],
)  # fmt: skip
def test_other_family_layouts_are_named(tmp_path, extra_key, family) -> None:  # noqa: ANN001
    path = tmp_path / "other.pt"
    torch.save({**tiny_sd(), extra_key: torch.zeros(1)}, path)
    with pytest.raises(BenchError, match=family):
        resolve(str(path))


def test_ambiguous_vocabulary_and_head_width_are_refused(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "vocab.pt"
    torch.save(tiny_sd(vocab_size=250), path)
    with pytest.raises(BenchError, match="vocabulary of 250 .* open_clip:ARCH --weights PATH"):
        resolve(str(path))
    torch.save(tiny_sd(transformer_width=80, transformer_heads=1), path)
    with pytest.raises(BenchError, match="text width 80 is not a multiple of 64"):
        resolve(str(path))


def test_bench_models_lists_families_and_open_clip_names(capsys) -> None:  # noqa: ANN001
    from bench.cli import main

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(f in out for f in ("open_clip:ARCH/PRETRAINED", "hf:ORG/NAME", "ViT-B/32"))
    pytest.importorskip("open_clip")
    assert main(["models", "--family", "open_clip"]) == 0
    assert "open_clip:ViT-B-32/laion2b_s34b_b79k" in capsys.readouterr().out.splitlines()
