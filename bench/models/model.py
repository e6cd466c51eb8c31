"""The CLIP model: an image tower (modified ResNet or ViT) and a causal text transformer.

State-dict keys and shapes are those of OpenAI's checkpoints, and given the same weights the
outputs equal those of OpenAI's reference implementation to float32 rounding. Architectures
are :class:`ModelConfig` values, stored as JSON files in ``bench/models/configs/``.

Precision: a model is built in float32. ``model.set_precision("fp16")`` (or ``"bf16"``) casts the
convolution, linear, attention and projection weights as OpenAI ships them and keeps norms,
embeddings and ``logit_scale`` in float32; ``model.to(dtype)`` casts everything. Either way
LayerNorm is computed in float32 and inputs are cast to ``model.dtype``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

import torch
from torch import nn

from bench.errors import BenchError
from bench.models.layers import Attention, LayerNorm, Transformer
from bench.models.resnet import ModifiedResNet
from bench.models.vit import VisionTransformer
from bench.registry import Registry

ACTIVATIONS = ("quick_gelu", "gelu")

PRECISIONS: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}


@dataclass(frozen=True)
class ModelConfig:
    """A CLIP architecture: the fields of OpenAI's ``CLIP.__init__`` and two more.

    ``activation`` is the transformer MLPs' (``quick_gelu``, OpenAI's; ``gelu``, most open_clip
    and Hugging Face models). ``vision_heads`` left ``None`` follows OpenAI: ``vision_width //
    64`` for the ViT (head width 64), ``vision_width * 32 // 64`` for the ResNet attention pool;
    give it for other head widths (80 for open_clip's ViT-H-14). Both are always set after
    construction, so two configs of one architecture compare equal however they were written.
    """

    embed_dim: int  # width of the joint image-text embedding
    image_resolution: int  # input image side in pixels
    vision_layers: int | tuple[int, int, int, int]  # ViT blocks, or blocks per ResNet stage
    vision_width: int  # ViT width, or ResNet stem width (features are 32x it)
    vision_patch_size: int | None  # ViT patch side; None for a ResNet
    context_length: int  # text tokens, including start and end of text
    vocab_size: int
    transformer_width: int  # text transformer
    transformer_heads: int
    transformer_layers: int
    activation: str = "quick_gelu"  # transformer MLP activation: quick_gelu or gelu
    vision_heads: int | None = None  # image-tower heads; None: OpenAI's rule (head width 64)

    def __post_init__(self) -> None:
        if isinstance(self.vision_layers, list):
            object.__setattr__(self, "vision_layers", tuple(self.vision_layers))
        if self.vision_heads is None:
            width = self.vision_width
            object.__setattr__(self, "vision_heads", width // 64 if self.is_vit else width // 2)
        problems = _config_problems(self)
        if problems:
            raise BenchError(f"invalid model config {self}: {'; '.join(problems)}")

    @property
    def is_vit(self) -> bool:
        """Whether the image tower is a Vision Transformer (else the modified ResNet)."""
        return not isinstance(self.vision_layers, tuple)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Builds a config from a mapping of the dataclass's fields (``activation`` and
        ``vision_heads`` may be left out).

        Raises:
            BenchError: if a field is missing or unknown.
        """
        fields = [f.name for f in dataclasses.fields(cls)]
        optional = ("activation", "vision_heads")
        missing = [f for f in fields if f not in data and f not in optional]
        unknown = [k for k in data if k not in fields]
        if missing or unknown:
            raise BenchError(
                f"model config has missing fields {missing} and unknown fields {unknown}; "
                f"a config has exactly these fields: {', '.join(fields)}"
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data (ResNet stage counts as a list)."""
        data = dataclasses.asdict(self)
        if not self.is_vit:
            data["vision_layers"] = list(self.vision_layers)
        return data


def _config_problems(cfg: ModelConfig) -> list[str]:
    """What makes a config unbuildable, as messages that say what to change."""
    problems = []
    if cfg.activation not in ACTIVATIONS:
        problems.append(f"activation must be one of {', '.join(ACTIVATIONS)}")
    pool_width = cfg.vision_width if cfg.is_vit else cfg.vision_width * 32
    if cfg.vision_heads < 1 or pool_width % cfg.vision_heads:
        problems.append(
            f"the image tower's width {pool_width} must be divisible by vision_heads >= 1"
        )
    if cfg.is_vit:
        if not cfg.vision_patch_size or cfg.image_resolution % cfg.vision_patch_size:
            problems.append("a ViT needs image_resolution to be a multiple of vision_patch_size")
    else:
        if len(cfg.vision_layers) != 4 or cfg.vision_patch_size is not None:
            problems.append("a ResNet needs 4 stage depths and vision_patch_size null")
        if cfg.image_resolution % 32 or cfg.vision_width < 2 or cfg.vision_width % 2:
            problems.append("a ResNet needs image_resolution % 32 == 0 and an even vision_width")
    heads = cfg.transformer_heads
    if heads < 1 or cfg.transformer_width % heads:
        problems.append("transformer_width must be divisible by transformer_heads >= 1")
    return problems


class CLIP(nn.Module):
    """OpenAI's CLIP with OpenAI's state-dict layout.

    Args:
        config: The architecture.

    Attributes:
        config: The architecture.
        embed_dim: Width of the joint embedding.
        image_resolution: Expected image side.
        context_length: Text tokens per sequence.
        weights_sha256: sha256 of the file the weights were loaded from, else None.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_dim = config.embed_dim
        self.image_resolution = config.image_resolution
        self.context_length = config.context_length
        self.vocab_size = config.vocab_size
        self.weights_sha256: str | None = None
        self.visual = _build_visual(config)
        self.transformer = Transformer(
            config.transformer_width,
            config.transformer_layers,
            config.transformer_heads,
            causal=True,
            activation=config.activation,
        )
        self.token_embedding = nn.Embedding(config.vocab_size, config.transformer_width)
        self.positional_embedding = nn.Parameter(
            torch.empty(config.context_length, config.transformer_width)
        )
        self.ln_final = LayerNorm(config.transformer_width)
        self.text_projection = nn.Parameter(torch.empty(config.transformer_width, config.embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
        self.initialize_parameters()

    def initialize_parameters(self) -> None:
        """OpenAI's initialisation (for training from scratch)."""
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        if isinstance(self.visual, ModifiedResNet):
            pool = self.visual.attnpool
            std = pool.c_proj.in_features**-0.5
            for proj in (pool.q_proj, pool.k_proj, pool.v_proj, pool.c_proj):
                nn.init.normal_(proj.weight, std=std)
            for name, param in self.visual.named_parameters():
                if name.startswith("layer") and name.endswith("bn3.weight"):
                    nn.init.zeros_(param)
        width, layers = self.transformer.width, self.transformer.layers
        proj_std = width**-0.5 * (2 * layers) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=width**-0.5)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=(2 * width) ** -0.5)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=width**-0.5)

    @property
    def dtype(self) -> torch.dtype:
        """The compute dtype: that of the first convolution's weight (as in OpenAI's code)."""
        return self.visual.conv1.weight.dtype

    def set_precision(self, precision: str | torch.dtype) -> CLIP:
        """Casts the weights that OpenAI ships in half precision; returns the model.

        Convolution, linear, attention and projection weights take the new dtype; norms,
        embeddings and ``logit_scale`` stay float32.

        Args:
            precision: ``"fp32"``, ``"bf16"``, ``"fp16"`` or the matching torch dtype.

        Raises:
            BenchError: for any other precision.
        """
        dtype = _precision_dtype(precision)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear, Attention)):
                for param in module.parameters(recurse=False):
                    param.data = param.data.to(dtype)
        for param in (self.text_projection, getattr(self.visual, "proj", None)):
            if param is not None:
                param.data = param.data.to(dtype)
        return self

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recomputes each block's activations in the backward pass, to save memory."""
        self.visual.grad_checkpointing = enable
        if isinstance(self.visual, VisionTransformer):
            self.visual.transformer.grad_checkpointing = enable
        self.transformer.grad_checkpointing = enable

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Image features, unnormalised.

        Args:
            images: Float tensor ``[N, 3, R, R]`` with ``R == image_resolution``, preprocessed.

        Returns:
            ``[N, embed_dim]`` in ``self.dtype``.

        Raises:
            BenchError: if the images are not ``[N, 3, R, R]``.
        """
        expected = (3, self.image_resolution, self.image_resolution)
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise BenchError(
                f"images of shape {tuple(images.shape)} do not fit this model, which takes "
                f"[N, {', '.join(map(str, expected))}]; preprocess them with "
                f"bench.models.image_transform({self.image_resolution})"
            )
        return self.visual(images.to(self.dtype))

    def image_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The embedding and the paper's probe features from one pass of the image tower.

        Probe features (Appendix A.3): for ViTs the class token after ``ln_post`` and before
        ``proj`` (``[N, vision_width]``); for ResNets the attention-pool output, which is the
        embedding itself.

        Returns:
            ``(embedding [N, embed_dim], probe [N, probe_dim])`` in ``self.dtype``.
        """
        self.encode_image(images[:0])  # shape check only
        x = images.to(self.dtype)
        if isinstance(self.visual, VisionTransformer):
            pooled = self.visual.forward_pooled(x)
            return pooled @ self.visual.proj, pooled
        emb = self.visual(x)
        return emb, emb

    @property
    def probe_dim(self) -> int:
        """Width of :meth:`image_features`' probe features."""
        if isinstance(self.visual, VisionTransformer):
            return self.config.vision_width
        return self.embed_dim

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Text features (at each sequence's end-of-text token, its highest id), unnormalised.

        Args:
            tokens: Long tensor ``[N, L]``, ``L <= context_length``, from ``bench.models.tokenize``.

        Returns:
            ``[N, embed_dim]`` in ``self.dtype``.

        Raises:
            BenchError: if the tokens are not ``[N, L]`` with ``L <= context_length``.
        """
        if tokens.ndim != 2 or tokens.shape[1] > self.context_length:
            raise BenchError(
                f"tokens of shape {tuple(tokens.shape)} do not fit this model's context of "
                f"{self.context_length}; use bench.models.tokenize(texts, "
                f"context_length={self.context_length})"
            )
        dtype = self.dtype
        x = self.token_embedding(tokens).to(dtype)
        x = x + self.positional_embedding[: tokens.shape[1]].to(dtype)
        x = self.transformer(x)
        # LayerNorm acts per token, so pooling before ln_final gives the same features.
        x = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]
        return self.ln_final(x).to(dtype) @ self.text_projection

    def forward(
        self, images: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled cosine similarities: ``(logits_per_image [N, M], logits_per_text [M, N])``."""
        image_features = self.encode_image(images)
        text_features = self.encode_text(tokens)
        image_features = image_features / image_features.norm(dim=1, keepdim=True)
        text_features = text_features / text_features.norm(dim=1, keepdim=True)
        logits_per_image = self.logit_scale.exp() * image_features @ text_features.t()
        return logits_per_image, logits_per_image.t()


def _build_visual(config: ModelConfig) -> nn.Module:
    if config.is_vit:
        return VisionTransformer(
            input_resolution=config.image_resolution,
            patch_size=config.vision_patch_size,
            width=config.vision_width,
            layers=config.vision_layers,
            heads=config.vision_heads,
            output_dim=config.embed_dim,
            activation=config.activation,
        )
    return ModifiedResNet(
        layers=config.vision_layers,
        output_dim=config.embed_dim,
        heads=config.vision_heads,
        input_resolution=config.image_resolution,
        width=config.vision_width,
    )


def _precision_dtype(precision: str | torch.dtype) -> torch.dtype:
    if isinstance(precision, torch.dtype) and precision in PRECISIONS.values():
        return precision
    if precision in PRECISIONS:
        return PRECISIONS[precision]
    raise BenchError(f"unknown precision {precision!r}; valid choices: {', '.join(PRECISIONS)}")


# Aliases: OpenAI's spellings of the names whose file names cannot hold "/" or "@".
_ALIASES = {
    "ViT-B-32": ("ViT-B/32",),
    "ViT-B-16": ("ViT-B/16",),
    "ViT-L-14": ("ViT-L/14",),
    "ViT-L-14-336": ("ViT-L/14@336px", "ViT-L-14-336px"),
}
_configs: Registry[ModelConfig] | None = None


def _registry() -> Registry[ModelConfig]:
    global _configs
    if _configs is None:
        registry: Registry[ModelConfig] = Registry("model config", "bench models")
        folder = resources.files("bench.models") / "configs"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".json"):
                name = entry.name[: -len(".json")]
                config = ModelConfig.from_dict(json.loads(entry.read_text(encoding="utf-8")))
                registry.register(name, config, _ALIASES.get(name, ()))
        _configs = registry
    return _configs


def get_config(name: str) -> ModelConfig:
    """The architecture called ``name`` (``RN50``, ``ViT-B-32`` or ``ViT-B/32``, ``tiny-vit``, ...).

    Raises:
        UnknownNameError: with the close matches.
    """
    return _registry().get(name)


def list_configs() -> list[str]:
    """Names of the architectures in ``bench/models/configs/``, sorted."""
    return sorted(_registry().names())
