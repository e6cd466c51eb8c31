"""Model resolution for a run: ``--model`` / ``--weights`` / ``--name`` -> a :class:`ModelSpec`
whose loader gives an :class:`bench.models.seam.EvalModel`. :func:`model_spec` is the one
function that turns what the user named into a model; the families' resolver
(:func:`bench.models.resolve`: ``openai``, ``bench``, ``open_clip``, ``hf``) does the naming."""

from __future__ import annotations

import os

import torch

from bench.models.seam import ClipModel, EvalModel
from bench.results import model_slug
from bench.settings import Settings
from bench.suites.context import ModelSpec


def model_spec(
    model: str | os.PathLike[str] | torch.nn.Module | EvalModel,
    settings: Settings,
    *,
    weights: str | os.PathLike[str] | None = None,
    model_name: str | None = None,
    load_for_sha: bool = True,
) -> ModelSpec:
    """Resolves ``--model`` / ``--weights`` without loading the weights when it can.

    ``model`` is an :class:`EvalModel`, an in-memory CLIP, or a name :func:`bench.models.resolve`
    knows (``ViT-B/32``, ``openai:ViT-B/32``, ``open_clip:ARCH[/PRETRAINED]``, ``hf:REPO_OR_DIR``,
    a checkpoint path). ``weights`` is a local weights file for that name. ``model_name``
    (``--name``) is the name results carry. A model whose weights' sha256 is known only once it
    is downloaded (``open_clip:ARCH/PRETRAINED``, an HF hub id) is loaded here, unless
    ``load_for_sha`` is False: then its ``weights_sha256`` stays empty until
    :meth:`ModelSpec.complete_sha` (the runner first checks that some task has data).

    Raises:
        UnknownNameError: a name of no family, model or file (with close matches).
        BenchError: bad weights, an ambiguous state dict, a missing optional extra.
    """
    if isinstance(model, torch.nn.Module):
        wrapped = ClipModel(model, model_name or "model", "bench")
        return ModelSpec(wrapped.name, wrapped.weights_sha256, lambda: wrapped)
    if isinstance(model, EvalModel):
        return ModelSpec(model_name or model.name, model.weights_sha256, lambda: model)
    from bench.models import resolve

    handle = resolve(os.fspath(model), weights=weights)
    shown = model_name or handle.name

    def _load() -> EvalModel:
        loaded = handle.load(settings.device, "fp32")
        loaded.name = shown
        return loaded

    slug = model_slug(model_name) if model_name else handle.slug
    spec = ModelSpec(
        shown,
        handle.weights_sha256 or "",
        _load,
        slug=slug,
        family=handle.family,
        assumptions=tuple(handle.assumptions),
    )
    if load_for_sha:
        spec.complete_sha()  # a sha256 known only after the download
    return spec
