"""The CLIP architecture: keys and shapes of the nine against the spec, configs, forward passes,
precisions, gradient checkpointing and bad inputs."""

from __future__ import annotations

import json

import pytest
import torch
from models_fixtures import SPEC_FILE, openai_dtypes, random_state_dict, sample_inputs

from bench.errors import BenchError, UnknownNameError
from bench.models import CLIP, ModelConfig, build_model, get_config, list_configs
from bench.models.layers import LayerNorm

SPEC = json.loads(SPEC_FILE.read_text())
NINE = list(SPEC)  # OpenAI's names: RN50 ... ViT-L/14@336px
TINY = ["tiny-vit", "tiny-rn"]


def meta_model(name: str) -> CLIP:
    with torch.device("meta"):
        return CLIP(get_config(name))


@pytest.mark.parametrize("name", NINE)
def test_config_file_equals_spec(name: str) -> None:
    got = get_config(name).to_dict()
    assert {k: got[k] for k in SPEC[name]["config"]} == SPEC[name]["config"]
    # What OpenAI's code fixes rather than stores: QuickGELU, and 64-wide heads.
    width = got["vision_width"]
    heads = width // 64 if isinstance(got["vision_layers"], int) else width * 32 // 64
    assert (got["activation"], got["vision_heads"]) == ("quick_gelu", heads)


@pytest.mark.parametrize("name", NINE)
def test_keys_and_shapes_equal_openai(name: str) -> None:
    got = {k: list(v.shape) for k, v in meta_model(name).state_dict().items()}
    expected = SPEC[name]["state_dict"]
    assert sorted(set(expected) - set(got)) == [], "missing keys"
    assert sorted(set(got) - set(expected)) == [], "unexpected keys"
    assert {k: v for k, v in got.items() if v != expected[k]} == {}, "shape mismatches"
    assert list(got) == list(expected), "key order differs from OpenAI's"


@pytest.mark.parametrize("name", NINE)
def test_parameter_count_equals_spec(name: str) -> None:
    model = meta_model(name)
    # The spec counts every state-dict element (BatchNorm statistics included).
    assert sum(v.numel() for v in model.state_dict().values()) == SPEC[name]["num_params"]
    if get_config(name).is_vit:  # no buffers: parameters are the whole state dict
        assert sum(p.numel() for p in model.parameters()) == SPEC[name]["num_params"]


def test_list_configs_and_aliases() -> None:
    names = list_configs()
    assert set(TINY) <= set(names) and len(names) == 11
    assert get_config("ViT-B/32") == get_config("ViT-B-32")
    assert get_config("ViT-L/14@336px") == get_config("ViT-L-14-336")
    with pytest.raises(UnknownNameError, match="ViT-B-32"):
        get_config("ViT-B-23")


@pytest.mark.parametrize("name", list_configs())
def test_config_round_trips_through_dict(name: str) -> None:
    config = get_config(name)
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_bad_configs_raise() -> None:
    good = get_config("tiny-vit").to_dict()
    with pytest.raises(BenchError, match="unknown fields \\['heads'\\]"):
        ModelConfig.from_dict({**good, "heads": 2})
    with pytest.raises(BenchError, match="multiple of vision_patch_size"):
        ModelConfig.from_dict({**good, "image_resolution": 33})
    with pytest.raises(BenchError, match="transformer_heads"):
        ModelConfig.from_dict({**good, "transformer_heads": 3})
    rn = get_config("tiny-rn").to_dict()
    with pytest.raises(BenchError, match="% 32"):
        ModelConfig.from_dict({**rn, "image_resolution": 48})


def tiny_model(name: str, seed: int = 0) -> CLIP:
    return build_model(random_state_dict(get_config(name), seed))


@pytest.mark.parametrize("name", TINY)
def test_tiny_forward_fp32(name: str) -> None:
    model = tiny_model(name)
    images, tokens = sample_inputs(model.config, n=3)
    with torch.no_grad():
        img, txt = model.encode_image(images[:2]), model.encode_text(tokens)
        logits_per_image, logits_per_text = model(images[:2], tokens)
    assert img.shape == (2, model.embed_dim) and txt.shape == (3, model.embed_dim)
    assert img.dtype == txt.dtype == torch.float32
    cosine = torch.nn.functional.normalize(img, dim=1) @ torch.nn.functional.normalize(txt, dim=1).T
    torch.testing.assert_close(logits_per_image, model.logit_scale.exp() * cosine)
    assert torch.equal(logits_per_text, logits_per_image.T)


@pytest.mark.parametrize("name", TINY)
def test_text_pooled_at_end_of_text_with_causal_mask(name: str) -> None:
    model = tiny_model(name)
    _, tokens = sample_inputs(model.config, n=1)
    eot = int(tokens.argmax())
    after, before = tokens.clone(), tokens.clone()
    after[0, eot + 1 :] = 7  # after the end of text: invisible to it under the causal mask
    before[0, 1] = 7 if int(tokens[0, 1]) != 7 else 8
    with torch.no_grad():
        base = model.encode_text(tokens)
        assert torch.equal(model.encode_text(after), base)
        assert not torch.allclose(model.encode_text(before), base)


@pytest.mark.parametrize("name", TINY)
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("how", ["to", "set_precision"])
def test_tiny_forward_half_precisions(name: str, dtype: torch.dtype, how: str) -> None:
    model = tiny_model(name)
    images, tokens = sample_inputs(model.config)
    with torch.no_grad():
        ref_img, ref_txt = model.encode_image(images), model.encode_text(tokens)
        model = model.to(dtype) if how == "to" else model.set_precision(dtype)
        assert model.dtype == dtype
        img, txt = model.encode_image(images), model.encode_text(tokens)
    assert img.dtype == txt.dtype == dtype
    # Half precision keeps about 3 significant digits; 0.99 cosine similarity is far from chance.
    for got, ref in ((img, ref_img), (txt, ref_txt)):
        cosine = torch.nn.functional.cosine_similarity(got.float(), ref, dim=1)
        assert cosine.min() > 0.99, cosine


@pytest.mark.parametrize("name", TINY + ["RN50", "ViT-B/32"])
def test_set_precision_matches_openai_shipping_dtypes(name: str) -> None:
    model = meta_model(name).set_precision("fp16")
    got = {k: v.dtype for k, v in model.state_dict().items()}
    assert got == openai_dtypes(get_config(name))


def test_set_precision_rejects_unknown() -> None:
    with pytest.raises(BenchError, match="valid choices: fp32, bf16, fp16"):
        meta_model("tiny-vit").set_precision("fp8")


def test_layernorm_computes_in_fp32() -> None:
    ln = LayerNorm(64)
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
    x = (torch.randn(4, 64) * 100 + 1000).to(torch.bfloat16)
    expected = torch.nn.functional.layer_norm(x.float(), (64,), ln.weight, ln.bias).bfloat16()
    assert torch.equal(ln(x), expected)
    ln16 = ln.to(torch.bfloat16)  # bf16 weights are widened, not the input narrowed
    w, b = ln16.weight.float(), ln16.bias.float()
    assert torch.equal(ln16(x), torch.nn.functional.layer_norm(x.float(), (64,), w, b).bfloat16())


@pytest.mark.parametrize("name", TINY)
def test_grad_checkpointing_gives_same_gradients_and_stats(name: str) -> None:
    results = []
    for enable in (False, True):
        model = tiny_model(name).train()
        model.set_grad_checkpointing(enable)
        images, tokens = sample_inputs(model.config)
        logits, _ = model(images, tokens)
        logits.logsumexp(1).sum().backward()
        grads = {k: p.grad.clone() for k, p in model.named_parameters()}
        buffers = {k: b.clone() for k, b in model.named_buffers()}
        results.append((grads, buffers))
    (g0, b0), (g1, b1) = results
    assert g0.keys() == g1.keys() and all(g.abs().sum() > 0 for g in g0.values())
    for key in g0:
        torch.testing.assert_close(g1[key], g0[key], rtol=1e-5, atol=1e-6)
    for key in b0:  # BatchNorm statistics updated once, not again by the recomputation
        assert torch.equal(b1[key], b0[key]), key


def test_bad_input_shapes_raise() -> None:
    model = tiny_model("tiny-vit")
    with pytest.raises(BenchError, match=r"\[N, 3, 32, 32\]"):
        model.encode_image(torch.zeros(1, 3, 64, 64))
    with pytest.raises(BenchError, match="context of 77"):
        model.encode_text(torch.zeros(1, 78, dtype=torch.long))


def test_shorter_token_sequences_match_padded() -> None:
    model = tiny_model("tiny-vit")
    _, tokens = sample_inputs(model.config, n=2)
    short = tokens[:, : int(tokens.argmax(dim=1).max()) + 1]
    with torch.no_grad():
        torch.testing.assert_close(model.encode_text(short), model.encode_text(tokens))
