"""Conversion of OpenAI-architecture open_clip and Hugging Face checkpoints into the in-repo
encoders (the fast path).

A configuration takes the fast path only when every option that changes the computation is
the OpenAI architecture's: pre-norm blocks with a 4x MLP of QuickGELU or GELU, class-token
pooling after ``ln_post`` and a bias-free projection (ViT) or OpenAI's attention pool (ResNet),
a causal text tower pooled at the highest token id, LayerNorm eps 1e-5. Head counts are taken
from the config. Anything else returns ``None`` with the reason, and the model runs on its own
library's code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from bench.models.model import ModelConfig

# open_clip options whose value changes the computation, at the value of OpenAI's architecture.
_OC_VISION = {
    "mlp_ratio": 4.0, "ls_init_value": None, "attentional_pool": False, "no_ln_pre": False,
    "pos_embed_type": "learnable", "final_ln_after_pool": False, "pool_type": "tok",
    "act_kwargs": None, "norm_kwargs": None, "block_type": None, "qk_norm": False,
    "scaled_cosine_attn": False, "scale_heads": False, "scale_attn_inner": False,
    "scale_attn": False, "scale_fc": False, "timm_model_name": None,
}  # fmt: skip
_OC_TEXT = {
    "mlp_ratio": 4.0, "ls_init_value": None, "embed_cls": False, "no_causal_mask": False,
    "final_ln_after_pool": False, "pool_type": "argmax", "proj_bias": False,
    "proj_type": "linear", "act_kwargs": None, "norm_kwargs": None, "block_type": None,
    "qk_norm": False, "scaled_cosine_attn": False, "scale_heads": False,
    "scale_attn_inner": False, "scale_attn": False, "scale_fc": False, "hf_model_name": None,
}  # fmt: skip
# Options that do not change inference (training-only, or tokenizer choice, which bench takes
# from open_clip's own tokenizer in either path).
_OC_VISION_INERT = {"layers", "width", "head_width", "patch_size", "image_size", "patch_dropout",
                    "attn_pooler_queries", "attn_pooler_heads", "output_tokens"}  # fmt: skip
_OC_TEXT_INERT = {"context_length", "vocab_size", "width", "heads", "layers", "pad_id", "eos_id",
                  "hf_tokenizer_name", "tokenizer_mode", "tokenizer_kwargs", "output_tokens"}  # fmt: skip
_OC_TOP = {"embed_dim", "vision_cfg", "text_cfg", "quick_gelu", "preprocess_cfg",
           "init_logit_scale"}  # fmt: skip


def openclip_config(cfg: Mapping[str, Any]) -> tuple[ModelConfig | None, str]:
    """The in-repo architecture of an open_clip model config, or ``(None, reason)``.

    Args:
        cfg: ``open_clip.get_model_config(arch)``, with ``quick_gelu`` set as the pretrained
            tag asks.
    """
    extra = sorted(set(cfg) - _OC_TOP)
    if extra:
        return None, f"options {extra} are not the OpenAI architecture's"
    vision, text = dict(cfg["vision_cfg"]), dict(cfg["text_cfg"])
    for tower, data, fixed, inert in (
        ("vision", vision, _OC_VISION, _OC_VISION_INERT),
        ("text", text, _OC_TEXT, _OC_TEXT_INERT),
    ):
        for key, value in data.items():
            if key in inert:
                continue
            if key not in fixed or fixed[key] != value:
                return None, f"{tower}_cfg {key}={value!r} is not the OpenAI architecture's"
    size = vision.get("image_size", 224)
    if isinstance(size, (list, tuple)):
        if len(set(size)) != 1:
            return None, f"non-square image_size {size}"
        size = size[0]
    layers = vision.get("layers", 12)
    width = vision.get("width", 768)
    head_width = vision.get("head_width", 64)
    is_vit = isinstance(layers, int)
    pool_width = width if is_vit else width * 32
    if pool_width % head_width:
        return None, f"vision width {pool_width} is not a multiple of head_width {head_width}"
    config = ModelConfig(
        embed_dim=cfg["embed_dim"],
        image_resolution=int(size),
        vision_layers=layers if is_vit else tuple(layers),
        vision_width=width,
        vision_patch_size=vision.get("patch_size", 16) if is_vit else None,
        context_length=text.get("context_length", 77),
        vocab_size=text.get("vocab_size", 49408),
        transformer_width=text.get("width", 512),
        transformer_heads=text.get("heads", 8),
        transformer_layers=text.get("layers", 12),
        activation="quick_gelu" if cfg.get("quick_gelu") else "gelu",
        vision_heads=pool_width // head_width,
    )
    return config, "OpenAI architecture"


def hf_clip_config(config: Any) -> tuple[ModelConfig | None, str]:
    """The in-repo architecture of a transformers ``CLIPConfig``, or ``(None, reason)``."""
    v, t = config.vision_config, config.text_config
    for tower, c in (("vision", v), ("text", t)):
        if c.hidden_act not in ("quick_gelu", "gelu"):
            return None, f"{tower} activation {c.hidden_act!r}"
        if c.intermediate_size != 4 * c.hidden_size:
            return None, f"{tower} MLP width {c.intermediate_size} is not 4 x {c.hidden_size}"
        if abs(c.layer_norm_eps - 1e-5) > 1e-12:
            return None, f"{tower} layer_norm_eps {c.layer_norm_eps}"
    if v.hidden_act != t.hidden_act:
        return None, "the towers' activations differ"
    # HF pools at the first end-of-text token (at the highest id for the legacy eos id 2); the
    # in-repo text tower pools at the highest id, the same token when end-of-text is the last id.
    if t.eos_token_id not in (2, t.vocab_size - 1):
        return None, f"end-of-text id {t.eos_token_id} is not the vocabulary's last"
    if v.image_size % v.patch_size:
        return None, f"image_size {v.image_size} is not a multiple of patch_size {v.patch_size}"
    return (
        ModelConfig(
            embed_dim=config.projection_dim,
            image_resolution=v.image_size,
            vision_layers=v.num_hidden_layers,
            vision_width=v.hidden_size,
            vision_patch_size=v.patch_size,
            context_length=t.max_position_embeddings,
            vocab_size=t.vocab_size,
            transformer_width=t.hidden_size,
            transformer_heads=t.num_attention_heads,
            transformer_layers=t.num_hidden_layers,
            activation=v.hidden_act,
            vision_heads=v.num_attention_heads,
        ),
        "OpenAI architecture",
    )


_HF_BLOCK = {
    "layer_norm1": "ln_1",
    "layer_norm2": "ln_2",
    "mlp.fc1": "mlp.c_fc",
    "mlp.fc2": "mlp.c_proj",
    "self_attn.out_proj": "attn.out_proj",
}
_HF_FIXED = {
    "vision_model.embeddings.class_embedding": "visual.class_embedding",
    "vision_model.embeddings.patch_embedding.weight": "visual.conv1.weight",
    "vision_model.embeddings.position_embedding.weight": "visual.positional_embedding",
    "vision_model.pre_layrnorm.weight": "visual.ln_pre.weight",
    "vision_model.pre_layrnorm.bias": "visual.ln_pre.bias",
    "vision_model.post_layernorm.weight": "visual.ln_post.weight",
    "vision_model.post_layernorm.bias": "visual.ln_post.bias",
    "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
    "text_model.embeddings.position_embedding.weight": "positional_embedding",
    "text_model.final_layer_norm.weight": "ln_final.weight",
    "text_model.final_layer_norm.bias": "ln_final.bias",
    "logit_scale": "logit_scale",
}
_HF_TOWERS = {
    "vision_model.encoder.layers.": "visual.transformer.resblocks.",
    "text_model.encoder.layers.": "transformer.resblocks.",
}


def hf_clip_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A transformers ``CLIPModel`` state dict in OpenAI's layout (q, k, v fused; projections
    transposed). Position-id buffers are dropped; any other key is kept as is, so that
    :func:`bench.models.loading.build_model` reports it."""
    out: dict[str, torch.Tensor] = {}
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in sd.items():
        if key.endswith("position_ids"):
            continue
        if key in _HF_FIXED:
            out[_HF_FIXED[key]] = value
        elif key == "visual_projection.weight":
            out["visual.proj"] = value.t()
        elif key == "text_projection.weight":
            out["text_projection"] = value.t()
        elif key.startswith(tuple(_HF_TOWERS)):
            prefix = next(p for p in _HF_TOWERS if key.startswith(p))
            index, rest = key[len(prefix) :].split(".", 1)
            base = f"{_HF_TOWERS[prefix]}{index}."
            if rest.startswith("self_attn.") and rest.split(".")[1] in (
                "q_proj",
                "k_proj",
                "v_proj",
            ):
                _, proj, kind = rest.split(".")
                qkv.setdefault(f"{base}attn.in_proj_{kind}", {})[proj] = value
                continue
            module, _, kind = rest.rpartition(".")
            out[f"{base}{_HF_BLOCK.get(module, module)}.{kind}"] = value
        else:
            out[key] = value
    for key, parts in qkv.items():
        out[key] = torch.cat([parts["q_proj"], parts["k_proj"], parts["v_proj"]], dim=0)
    return out
