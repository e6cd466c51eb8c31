"""Helpers for the model tests: random weights with realistic statistics, OpenAI's shipping
dtypes (from OpenAI's own ``convert_weights``), and checkpoint files in each on-disk format."""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path

import torch
from conftest import load_reference_module

from bench.models import CLIP, ModelConfig

SPEC_FILE = (
    Path(__file__).resolve().parent / "data" / "state_dict_spec.json"
)  # copy of shared/reference/clip/

# Irregular architectures (not among the nine): widths, depths, patch, resolution and context
# that only inference from the state dict can get right.
ODD_VIT = ModelConfig(
    embed_dim=48,
    image_resolution=48,
    vision_layers=3,
    vision_width=128,
    vision_patch_size=16,
    context_length=20,
    vocab_size=500,
    transformer_width=128,
    transformer_heads=2,
    transformer_layers=3,
)
ODD_RN = ModelConfig(
    embed_dim=40,
    image_resolution=96,
    vision_layers=(2, 1, 1, 2),
    vision_width=8,
    vision_patch_size=None,
    context_length=12,
    vocab_size=300,
    transformer_width=64,
    transformer_heads=1,
    transformer_layers=1,
)


def random_state_dict(config: ModelConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """A float32 OpenAI-layout state dict whose every tensor is random (BatchNorm statistics
    too), so no residual branch is trivially zero as it is at initialisation."""
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in CLIP(config).state_dict().items()}
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            sd[key] = torch.tensor(1000, dtype=torch.long)
        elif key == "logit_scale":
            sd[key] = torch.tensor(math.log(1 / 0.07))
        elif key.endswith("running_var"):
            sd[key] = torch.rand(shape, generator=gen) + 0.5
        elif len(shape) == 1:
            base = 1.0 if key.endswith("weight") else 0.0  # norm scales near 1, biases near 0
            sd[key] = base + 0.1 * torch.randn(shape, generator=gen)
        else:
            fan_in = shape[0] if key.endswith("proj") or key.endswith("projection") else None
            fan_in = fan_in or math.prod(shape[1:])
            sd[key] = torch.randn(shape, generator=gen) * fan_in**-0.5
    return sd


def openai_kwargs(config: ModelConfig) -> dict:
    """``config`` as OpenAI's ``CLIP.__init__`` arguments (it fixes QuickGELU and head width 64)."""
    data = dataclasses.asdict(config)
    assert data.pop("activation") == "quick_gelu", "OpenAI's code has QuickGELU only"
    data.pop("vision_heads")
    return data


def openai_dtypes(config: ModelConfig) -> dict[str, torch.dtype]:
    """Each key's dtype in OpenAI's released checkpoints, from OpenAI's ``convert_weights``."""
    ref = load_reference_module("model")
    with torch.device("meta"):
        model = ref.CLIP(**openai_kwargs(config))
    ref.convert_weights(model)
    return {k: v.dtype for k, v in model.state_dict().items()}


def as_shipped(sd: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """``sd`` with OpenAI's shipping dtypes: fp16 conv/linear/attention, fp32 norms/embeddings."""
    dtypes = openai_dtypes(config)
    return {k: v.to(dtypes[k]) for k, v in sd.items()}


def reference_model(sd: dict[str, torch.Tensor]) -> torch.nn.Module:
    """OpenAI's ``build_model`` on a copy of ``sd``, run in float32 (its weights are fp16)."""
    ref = load_reference_module("model")
    return ref.build_model(dict(sd)).float().eval()


def save_torchscript(sd: dict[str, torch.Tensor], config: ModelConfig, path: Path) -> None:
    """A TorchScript archive like OpenAI's: a traced reference CLIP holding ``sd`` in its
    shipping dtypes, with ``input_resolution``, ``context_length`` and ``vocab_size`` buffers."""
    ref = load_reference_module("model")
    model = ref.CLIP(**openai_kwargs(config))
    ref.convert_weights(model)
    model.load_state_dict(sd)
    for name, value in (
        ("input_resolution", config.image_resolution),
        ("context_length", config.context_length),
        ("vocab_size", config.vocab_size),
    ):
        if name in vars(model):  # a plain int attribute in OpenAI's class; a buffer in its archives
            delattr(model, name)
        model.register_buffer(name, torch.tensor(value))
    res = config.image_resolution
    images = torch.randn(1, 3, res, res, dtype=torch.float16)
    tokens = torch.randint(0, config.vocab_size, (1, config.context_length))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace is deprecated, but it is OpenAI's format
        traced = torch.jit.trace(model.eval(), (images, tokens), check_trace=False)
        torch.jit.save(traced, str(path))


def sample_inputs(config: ModelConfig, n: int = 3, seed: int = 0):
    """Random images and token sequences (start token, words, end-of-text, zero padding)."""
    gen = torch.Generator().manual_seed(seed)
    res = config.image_resolution
    images = torch.randn(n, 3, res, res, generator=gen)
    ctx, eot = config.context_length, config.vocab_size - 1
    tokens = torch.zeros(n, ctx, dtype=torch.long)
    for i in range(n):
        length = 2 + (i * 5) % (ctx - 2)
        tokens[i, 0] = eot - 1
        tokens[i, 1:length] = torch.randint(1, eot - 1, (length - 1,), generator=gen)
        tokens[i, length] = eot
    return images, tokens
