"""Fidelity: given the same weights, our features equal those of OpenAI's reference
implementation (``clip.model`` from PyPI ``openai-clip``) to float32 rounding.

Weights are random (BatchNorm statistics included) and stored as OpenAI ships them: fp16
convolution, linear and attention weights, fp32 norms and embeddings. OpenAI's model runs in the
dtype of its weights, so it is cast to float32 after loading; both models then hold the same fp32
values and are compared in float32.

Tolerances: float32 rounding, i.e. ``rtol=1e-5`` relative to each feature vector's scale
(``atol = 1e-5 * max |reference|``). The two differ only in the order of floating-point operations
(fused scaled_dot_product_attention and batch-first layout versus nn.MultiheadAttention).
"""

from __future__ import annotations

import json

import pytest
import torch
from models_fixtures import (
    ODD_RN,
    ODD_VIT,
    SPEC_FILE,
    as_shipped,
    random_state_dict,
    reference_model,
    sample_inputs,
)

from bench.models import ModelConfig, build_model, get_config

RTOL = 1e-5


def assert_features_close(got: torch.Tensor, expected: torch.Tensor) -> None:
    assert got.dtype == expected.dtype == torch.float32
    atol = RTOL * float(expected.abs().max())
    torch.testing.assert_close(got, expected, rtol=RTOL, atol=atol)


def compare_with_reference(config: ModelConfig, n: int = 3, logits: bool = True) -> None:
    shipped = as_shipped(random_state_dict(config, seed=1), config)
    ours, ref = build_model(shipped), reference_model(shipped)
    del shipped
    ours_sd = ours.state_dict()
    for key, value in ref.state_dict().items():  # the very same float32 weights
        assert torch.equal(ours_sd[key], value), key
    images, tokens = sample_inputs(config, n=n, seed=2)
    with torch.no_grad():
        assert_features_close(ours.encode_image(images), ref.encode_image(images))
        assert_features_close(ours.encode_text(tokens), ref.encode_text(tokens))
        if logits:  # cosine similarities times exp(logit_scale) = 100: within 1e-3
            for got, expected in zip(ours(images, tokens), ref(images, tokens), strict=True):
                torch.testing.assert_close(got, expected, rtol=RTOL, atol=RTOL * 100)


@pytest.mark.parametrize(
    "config",
    [get_config("tiny-vit"), get_config("tiny-rn"), ODD_VIT, ODD_RN],
    ids=["tiny-vit", "tiny-rn", "odd-vit", "odd-rn"],
)
def test_tiny_models_match_openai(config: ModelConfig) -> None:
    compare_with_reference(config)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(json.loads(SPEC_FILE.read_text())))
def test_full_size_models_match_openai(name: str) -> None:
    compare_with_reference(get_config(name), n=2, logits=False)
