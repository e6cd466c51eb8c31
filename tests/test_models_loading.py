"""build_model and load_checkpoint: round trips, every checkpoint format, bad inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from models_fixtures import (
    ODD_RN,
    ODD_VIT,
    as_shipped,
    random_state_dict,
    sample_inputs,
    save_torchscript,
)
from safetensors.torch import save_file

from bench.errors import BenchError, DataMissingError
from bench.models import CLIP, build_model, get_config, load_checkpoint
from bench.models.loading import infer_config

CONFIGS = {"tiny-vit": get_config("tiny-vit"), "tiny-rn": get_config("tiny-rn")}
CONFIGS |= {"odd-vit": ODD_VIT, "odd-rn": ODD_RN}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_same_state(model: CLIP, sd: dict[str, torch.Tensor]) -> None:
    """The model holds exactly ``sd`` widened to float32 (bit-exact)."""
    got = model.state_dict()
    assert list(got) == [
        k for k in sd if k not in ("input_resolution", "context_length", "vocab_size")
    ]
    for key, value in got.items():
        expected = sd[key].float() if sd[key].is_floating_point() else sd[key]
        assert value.dtype == expected.dtype, key
        assert torch.equal(value, expected), key


@pytest.mark.parametrize("name", CONFIGS)
def test_build_model_round_trip(name: str) -> None:
    config = CONFIGS[name]
    original = build_model(random_state_dict(config))
    sd = original.state_dict()
    rebuilt = build_model(sd)
    assert rebuilt.config == config and not rebuilt.training
    assert_same_state(rebuilt, sd)
    assert all(v.data_ptr() != sd[k].data_ptr() for k, v in rebuilt.state_dict().items())
    images, tokens = sample_inputs(config)
    with torch.no_grad():
        for a, b in zip(original(images, tokens), rebuilt(images, tokens), strict=True):
            assert torch.equal(a, b)


@pytest.mark.parametrize("name", CONFIGS)
def test_infer_config_any_architecture(name: str) -> None:
    assert infer_config(random_state_dict(CONFIGS[name])) == CONFIGS[name]


def test_build_model_widens_fp16_without_rounding_fp32() -> None:
    config = CONFIGS["tiny-rn"]
    shipped = as_shipped(random_state_dict(config), config)
    dtypes = {v.dtype for v in shipped.values()}
    assert {torch.float16, torch.float32} <= dtypes
    before = {k: v.clone() for k, v in shipped.items()}
    model = build_model(shipped)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert_same_state(model, shipped)
    assert all(
        torch.equal(shipped[k], before[k]) and shipped[k].dtype == v.dtype
        for k, v in before.items()
    )
    assert model.weights_sha256 is None


def test_build_model_ignores_archive_metadata_keys() -> None:
    config = CONFIGS["tiny-vit"]
    sd = random_state_dict(config)
    extra = {"input_resolution": torch.tensor(32), "context_length": torch.tensor(77)}
    assert_same_state(build_model({**sd, **extra, "vocab_size": torch.tensor(49408)}), sd)


def write(fmt: str, sd: dict[str, torch.Tensor], config, folder: Path) -> Path:
    """``sd`` saved in checkpoint format ``fmt``."""
    if fmt == "torchscript":
        path = folder / "model.pt"
        save_torchscript(sd, config, path)
    elif fmt in ("pt", "bin", "pth"):
        path = folder / f"weights.{fmt}"
        torch.save(sd, path)
    elif fmt == "legacy":
        path = folder / "legacy.pt"
        torch.save(sd, path, _use_new_zipfile_serialization=False)
    elif fmt == "safetensors":
        path = folder / "weights.safetensors"
        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    elif fmt == "training":
        path = folder / "epoch_3.pt"
        wrapped = {f"module.{k}": v for k, v in sd.items()}
        torch.save({"epoch": 3, "state_dict": wrapped, "optimizer": {"lr": 1e-3}}, path)
    else:
        raise AssertionError(fmt)
    return path


FORMATS = ["torchscript", "pt", "bin", "pth", "legacy", "safetensors", "training"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["tiny-vit", "tiny-rn"])
def test_load_checkpoint_every_format(fmt: str, name: str, tmp_path: Path) -> None:
    config = CONFIGS[name]
    shipped = as_shipped(random_state_dict(config), config)  # fp16 + fp32, as OpenAI ships
    path = write(fmt, shipped, config, tmp_path)
    model = load_checkpoint(path)
    assert model.config == config and not model.training
    assert_same_state(model, shipped)
    assert model.weights_sha256 == sha256(path)


def test_format_is_recognised_by_content_not_name(tmp_path: Path) -> None:
    config = CONFIGS["tiny-vit"]
    sd = random_state_dict(config)
    path = write("safetensors", sd, config, tmp_path).rename(tmp_path / "weights.bin")
    assert_same_state(load_checkpoint(path), sd)


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.pt"
    with pytest.raises(DataMissingError) as err:
        load_checkpoint(path)
    assert str(path) in one_line(err) and "bench models" in one_line(err)


@pytest.mark.parametrize("fmt", ["torchscript", "pt", "legacy", "safetensors"])
def test_truncated_file(fmt: str, tmp_path: Path) -> None:
    config = CONFIGS["tiny-vit"]
    path = write(fmt, random_state_dict(config), config, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BenchError) as err:
        load_checkpoint(path)
    message = one_line(err)
    assert str(path) in message and ("download it again" in message or "checkpoint" in message)


def test_corrupt_zip(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    with pytest.raises(BenchError) as err:
        load_checkpoint(path)
    assert str(path) in one_line(err) and "truncated or corrupt" in one_line(err)


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    path.write_text("not a checkpoint at all")
    with pytest.raises(BenchError) as err:
        load_checkpoint(path)
    assert "is not a PyTorch, TorchScript or safetensors checkpoint" in one_line(err)


def test_file_without_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(BenchError, match="holds a list, not a state dict"):
        load_checkpoint(path)


def test_pickled_module_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(2, 2), path)  # a whole module: needs unsafe unpickling
    with pytest.raises(BenchError) as err:
        load_checkpoint(path)
    assert "holds pickled Python objects" in one_line(err) and str(path) in one_line(err)


def test_state_dict_of_no_architecture() -> None:
    with pytest.raises(BenchError) as err:
        build_model({"fc.weight": torch.zeros(2, 2)})
    assert "fits no CLIP architecture" in one_line(err) and "missing key" in one_line(err)


def test_state_dict_with_missing_unexpected_and_misshapen_keys() -> None:
    sd = random_state_dict(CONFIGS["tiny-vit"])
    del sd["visual.ln_post.bias"]
    sd["visual.extra.weight"] = torch.zeros(3)
    sd["transformer.resblocks.0.mlp.c_fc.weight"] = torch.zeros(100, 64)
    with pytest.raises(BenchError) as err:
        build_model(sd)
    message = one_line(err)
    assert "missing keys [visual.ln_post.bias] (1 in all)" in message
    assert "unexpected keys [visual.extra.weight] (1 in all)" in message
    assert "transformer.resblocks.0.mlp.c_fc.weight [100, 64] (expected [256, 64])" in message


def test_state_dict_that_builds_no_valid_config() -> None:
    sd = random_state_dict(CONFIGS["tiny-vit"])
    sd["ln_final.weight"] = torch.zeros(32)  # text width 32 -> 0 heads by OpenAI's rule
    with pytest.raises(BenchError, match="fits no CLIP architecture.*transformer_heads"):
        build_model(sd)


def test_non_tensor_entries() -> None:
    sd = random_state_dict(CONFIGS["tiny-vit"])
    sd["logit_scale"] = 4.6
    with pytest.raises(BenchError, match=r"entries \[logit_scale\].*not tensors"):
        build_model(sd)
