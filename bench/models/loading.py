"""Build a :class:`~bench.models.model.CLIP` from a state dict or a checkpoint file.

``build_model`` infers the architecture from key names and shapes the way OpenAI's
``clip.model.build_model`` does, so any width, depth, patch size, resolution or context length
loads, not only the nine published models. ``load_checkpoint`` reads OpenAI's TorchScript
archives, plain ``torch.save`` state dicts, ``.safetensors`` files and training checkpoints.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from bench.errors import BenchError, DataMissingError
from bench.io import sha256_file
from bench.models.model import CLIP, ModelConfig

# File suffixes that name a checkpoint file (rather than a model name) on the command line.
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")

# Entries of OpenAI's archives that describe the model rather than hold weights.
NON_WEIGHT_KEYS = ("input_resolution", "context_length", "vocab_size")

# What the readers raise on a truncated or corrupt file.
_READ_ERRORS = (
    RuntimeError,
    ValueError,
    OSError,
    EOFError,
    pickle.UnpicklingError,
    safetensors.SafetensorError,
)

_FIX = (
    "pass an OpenAI CLIP checkpoint or a state dict saved from bench.models.CLIP "
    "(model.state_dict())"
)


def infer_config(state_dict: Mapping[str, torch.Tensor]) -> ModelConfig:
    """The architecture of an OpenAI-layout CLIP state dict, inferred from keys and shapes.

    Heads are not stored, so they follow OpenAI's rules (text: ``width // 64``).

    Raises:
        BenchError: if a key needed for the inference is missing or has the wrong rank.
    """
    try:
        return _infer_config(state_dict)
    except (KeyError, IndexError, ValueError, TypeError, BenchError) as err:
        raise BenchError(f"state dict fits no CLIP architecture ({_reason(err)}); {_FIX}") from err


def _reason(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"missing key {err.args[0]!r}"
    return str(err) or type(err).__name__


def _infer_config(sd: Mapping[str, torch.Tensor]) -> ModelConfig:
    if "visual.proj" in sd:
        width, _, patch, _ = sd["visual.conv1.weight"].shape
        layers = len(
            [k for k in sd if k.startswith("visual.") and k.endswith(".attn.in_proj_weight")]
        )
        grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
        vision = dict(
            vision_layers=layers,
            vision_width=width,
            vision_patch_size=patch,
            image_resolution=patch * grid,
        )
    else:
        counts = tuple(
            len({k.split(".")[2] for k in sd if k.startswith(f"visual.layer{b}.")})
            for b in (1, 2, 3, 4)
        )
        grid = round((sd["visual.attnpool.positional_embedding"].shape[0] - 1) ** 0.5)
        vision = dict(
            vision_layers=counts,
            vision_width=sd["visual.layer1.0.conv1.weight"].shape[0],
            vision_patch_size=None,
            image_resolution=grid * 32,
        )
    text_width = sd["ln_final.weight"].shape[0]
    text_layers = {k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")}
    return ModelConfig(
        embed_dim=sd["text_projection"].shape[1],
        context_length=sd["positional_embedding"].shape[0],
        vocab_size=sd["token_embedding.weight"].shape[0],
        transformer_width=text_width,
        transformer_heads=text_width // 64,
        transformer_layers=len(text_layers),
        **vision,
    )


def _check_fits(model: CLIP, sd: Mapping[str, torch.Tensor]) -> None:
    """Raises a BenchError listing missing/unexpected keys and shape mismatches, if any."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    wrong = [
        f"{k} {list(sd[k].shape)} (expected {list(v.shape)})"
        for k, v in expected.items()
        if k in sd and sd[k].shape != v.shape
    ]
    parts = [
        f"{label} {_sample(items)}"
        for label, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches", wrong),
        )
        if items
    ]
    if parts:
        raise BenchError(
            f"state dict does not fit the inferred architecture {model.config}: "
            f"{'; '.join(parts)}; {_FIX}"
        )


def _sample(items: list[str], n: int = 5) -> str:
    shown = ", ".join(items[:n])
    return f"[{shown}{', ...' if len(items) > n else ''}] ({len(items)} in all)"


def build_model(state_dict: Mapping[str, torch.Tensor], config: ModelConfig | None = None) -> CLIP:
    """A float32 CLIP in eval mode holding the weights of ``state_dict``.

    The architecture is inferred from the keys and shapes. ``input_resolution``,
    ``context_length`` and ``vocab_size`` entries (OpenAI's archives) are ignored. Half-precision
    tensors are widened to float32 exactly; float32 tensors are copied bit for bit. The given
    state dict is not modified and shares no memory with the model.

    Args:
        state_dict: OpenAI-layout weights (fp16, bf16 or fp32, any device).
        config: The architecture, when known (activation and heads cannot be inferred);
            default: inferred under OpenAI's conventions (QuickGELU, heads 64 wide).

    Returns:
        The model, on the CPU.

    Raises:
        BenchError: if the state dict fits no CLIP architecture (the message names the missing
            or unexpected keys and the shape mismatches).
    """
    sd = {k: v for k, v in state_dict.items() if k not in NON_WEIGHT_KEYS}
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise BenchError(f"state dict entries {_sample(bad)} are not tensors; {_FIX}")
    config = config or infer_config(sd)
    with torch.device("meta"):
        model = CLIP(config)
    _check_fits(model, sd)
    weights = {
        k: v.to(device="cpu", dtype=torch.float32 if v.is_floating_point() else v.dtype, copy=True)
        for k, v in sd.items()
    }
    model.load_state_dict(weights, strict=True, assign=True)
    return model.eval()


def load_checkpoint(path: str | os.PathLike[str]) -> CLIP:
    """A float32 CLIP in eval mode from a checkpoint file; sets ``model.weights_sha256``.

    Reads OpenAI's TorchScript archives, ``torch.save`` state dicts (``.pt``, ``.pth``, ``.bin``;
    loaded with ``weights_only=True``), ``.safetensors`` files, and training checkpoints that
    keep the weights under ``"state_dict"`` (a ``module.`` prefix is removed). The format is
    recognised from the file's content, not its name.

    Args:
        path: The checkpoint file.

    Raises:
        DataMissingError: if the file does not exist.
        BenchError: if the file is truncated, corrupt, of an unknown format, or fits no CLIP.
    """
    model = build_model(read_state_dict(path))
    model.weights_sha256 = sha256_file(path)
    return model


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The weights in a checkpoint file (see :func:`load_checkpoint`), as stored.

    Raises:
        DataMissingError: if the file does not exist.
        BenchError: if the file cannot be read as a checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise DataMissingError(
            f"checkpoint file {path} does not exist; check the path, or give a model name "
            "(list them with `bench models`) to download the official weights"
        )
    kind = _sniff_format(path)
    try:
        if kind == "torchscript":
            with warnings.catch_warnings():
                # torch.jit is deprecated, but OpenAI's checkpoints are TorchScript archives.
                warnings.simplefilter("ignore", FutureWarning)
                obj = torch.jit.load(str(path), map_location="cpu").state_dict()
        elif kind == "safetensors":
            obj = safetensors.torch.load_file(str(path), device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except _READ_ERRORS as err:
        raise _corrupt(path, kind, err) from err
    return _unwrap(obj, path)


def read_shapes(path: str | os.PathLike[str]) -> dict[str, tuple[int, ...]]:
    """Each weight's shape in a checkpoint file, reading as little of it as the format allows
    (a safetensors header; a memory-mapped ``torch.save`` zip).

    Raises:
        DataMissingError: if the file does not exist.
        BenchError: if the file cannot be read as a checkpoint.
    """
    path = Path(path)
    if path.is_file() and _sniff_format(path) == "safetensors":
        try:
            with safetensors.safe_open(str(path), framework="pt") as f:
                return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
        except _READ_ERRORS as err:
            raise _corrupt(path, "safetensors", err) from err
    if path.is_file() and _sniff_format(path) == "torch" and zipfile.is_zipfile(path):
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except _READ_ERRORS as err:
            raise _corrupt(path, "torch", err) from err
        sd = _unwrap(obj, path)
    else:
        sd = read_state_dict(path)
    return {k: tuple(v.shape) for k, v in sd.items() if isinstance(v, torch.Tensor)}


def _sniff_format(path: Path) -> str:
    """ "torchscript", "torch" (torch.save) or "safetensors", from the file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(9)
    size = path.stat().st_size
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as err:
            raise _corrupt(path, "zip", err) from err
        scripted = any(n.endswith("/constants.pkl") or "/code/" in n for n in names)
        return "torchscript" if scripted else "torch"
    if len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < size:
        return "safetensors"
    if head[:1] == b"\x80":  # a pickle: torch.save's legacy (non-zip) format
        return "torch"
    raise BenchError(
        f"{path} is not a PyTorch, TorchScript or safetensors checkpoint (it starts with "
        f"{head[:8]!r}, {size} bytes); pass OpenAI's .pt archive, a file written by "
        "torch.save(model.state_dict()) or a .safetensors file"
    )


def _corrupt(path: Path, kind: str, err: Exception) -> BenchError:
    first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    if isinstance(err, pickle.UnpicklingError) and "weights only" in str(err).lower():
        return BenchError(
            f"{path} holds pickled Python objects, not only tensors, and is not loaded "
            "(torch.load(weights_only=True) refuses them, as they can run code); save "
            "model.state_dict() or a .safetensors file instead"
        )
    return BenchError(
        f"cannot read {path} as a {kind} checkpoint ({first_line}); the file is truncated or "
        "corrupt: delete it and download it again"
    )


def _unwrap(obj: object, path: Path) -> dict[str, torch.Tensor]:
    """The state dict inside a loaded object (plain, or training checkpoint with ``module.``)."""
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj:
        raise BenchError(
            f"{path} holds a {type(obj).__name__}, not a state dict of tensors; save "
            "model.state_dict(), or a dict with the weights under 'state_dict'"
        )
    prefix = "module."
    if all(isinstance(k, str) and k.startswith(prefix) for k in obj):
        obj = {k[len(prefix) :]: v for k, v in obj.items()}
    return dict(obj)
