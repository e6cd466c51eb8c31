"""Model resolution for a run: ``--model`` / ``--weights`` / ``--name`` -> a :class:`ModelSpec`
whose loader gives an :class:`bench.models.seam.EvalModel`. :func:`model_spec` is the one
function that turns what the user named into a model."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from bench.errors import BenchError, UnknownNameError
from bench.io import sha256_file
from bench.models.hub import CHECKPOINT_SUFFIXES
from bench.models.seam import ClipModel, EvalModel
from bench.settings import Settings
from bench.suites.context import ModelSpec


def model_spec(
    model: str | os.PathLike[str] | torch.nn.Module | EvalModel,
    settings: Settings,
    *,
    weights: str | os.PathLike[str] | None = None,
    model_name: str | None = None,
) -> ModelSpec:
    """Resolves ``--model`` / ``--weights`` without loading the weights yet.

    ``model`` is an :class:`EvalModel`, an in-memory CLIP, a checkpoint path, or a registered
    name (``bench models``). ``weights`` is a checkpoint file to evaluate under the name
    ``model``; with a registered name it must be that model's official file (a local copy).
    ``model_name`` (``--name``) is the name results carry.

    Raises:
        UnknownNameError: ``model`` is neither a file nor a registered model name.
        BenchError: a checkpoint path that does not exist, or weights that are not the
            named model's.
    """
    from bench.models import get_model_info, load, load_checkpoint

    if isinstance(model, torch.nn.Module):
        wrapped = ClipModel(model, model_name or "model", "bench")
        return ModelSpec(wrapped.name, wrapped.weights_sha256, lambda: wrapped)
    if isinstance(model, EvalModel):
        return ModelSpec(model_name or model.name, model.weights_sha256, lambda: model)
    name = str(model)
    if weights is not None:
        path = _existing_file(weights, "--weights")
        sha = sha256_file(path)
        official = _official_sha(name)
        if official is not None and official != sha:
            raise BenchError(
                f"--weights {path} has sha256 {sha[:12]}..., not the official {name}'s "
                f"{official[:12]}...; evaluate it under its own name (--model my-name "
                f"--weights {path})"
            )
        shown = model_name or name
        return ModelSpec(shown, sha, lambda: ClipModel(load_checkpoint(path), shown, "bench"))
    if Path(name).is_file():  # results name a checkpoint by its file's stem
        path, shown = Path(name), model_name or Path(name).stem
        return ModelSpec(
            shown, sha256_file(path), lambda: ClipModel(load_checkpoint(path), shown, "bench")
        )
    if Path(name).suffix in CHECKPOINT_SUFFIXES:
        _existing_file(name, "--model")
    try:
        info = get_model_info(name)
    except UnknownNameError as e:
        raise UnknownNameError(f"{e}, or pass a checkpoint file path") from None
    shown = model_name or info.name

    def _load() -> EvalModel:
        clip = load(info.name, device=settings.device, precision="fp32")[0]
        return ClipModel(clip, shown, "openai", weights_sha256=info.sha256)

    return ModelSpec(shown, info.sha256, _load)


def _official_sha(name: str) -> str | None:
    from bench.models import get_model_info

    try:
        return get_model_info(name).sha256
    except UnknownNameError:
        return None


def _existing_file(path: str | os.PathLike[str], flag: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise BenchError(
            f"{flag} {path}: no such checkpoint file; pass an existing "
            f"{'/'.join(CHECKPOINT_SUFFIXES)} file or a model name from `bench models`"
        )
    return p
