"""The model seam: what a suite, the feature cache and the zero-shot builder need of a model.

Every model family (``openai``, ``bench``, ``open_clip``, ``hf``) resolves a name to an object
that satisfies :class:`EvalModel`; nothing outside ``bench.models`` calls a family's own
tokenizer, preprocessing or encoders. :class:`ClipModel` adapts the in-repo encoders
(:class:`bench.models.model.CLIP`), which OpenAI checkpoints, ``bench train`` checkpoints and
converted OpenAI-architecture open_clip / Hugging Face checkpoints all load into.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from PIL import Image

#: The kinds of probe features (the CLIP paper, appendix A.3).
PROBE_KINDS = ("pre-projection", "attention-pool", "embedding")


@runtime_checkable
class EvalModel(Protocol):
    """What evaluation needs of a model.

    Attributes:
        name: The name the user gave (``ViT-B/32``, ``open_clip:ViT-B-32/laion2b_s34b_b79k``).
        family: ``openai``, ``bench``, ``open_clip`` or ``hf``.
        weights_sha256: sha256 naming the weights (of the file, else of the tensors).
        embed_dim: Width of the joint image–text embedding.
        probe_dim: Width of :meth:`image_features`' probe features.
        probe_kind: What the probe features are (:data:`PROBE_KINDS`: ``pre-projection``
            for a ViT's class token after ``ln_post``, ``attention-pool`` for a ResNet's
            pooled output or SigLIP's MAP head, ``embedding`` where a model exposes nothing
            before its embedding); part of feature cache keys and recorded in results.
        preprocess_id: A stable string naming :meth:`preprocess`, for cache keys.
        assumptions: What was assumed, not known, about the architecture (recorded in results).
        device: Where the encoders run.
    """

    name: str
    family: str
    weights_sha256: str
    embed_dim: int
    probe_dim: int
    probe_kind: str
    preprocess_id: str
    assumptions: tuple[str, ...]
    device: torch.device

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """A PIL image -> ``[3, H, W]`` float tensor, the model's own preprocessing."""

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> token ids ``[N, L]`` for :meth:`encode_text`, the model's own tokenizer."""

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token ids -> unnormalised text embeddings ``[N, embed_dim]``."""

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Preprocessed images -> unnormalised image embeddings ``[N, embed_dim]``."""

    def image_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One pass of the image tower -> ``(embedding, probe features)``."""

    def to(self, device: str | torch.device) -> EvalModel:
        """Moves the encoders; returns ``self``."""


def tensors_sha256(module: torch.nn.Module) -> str:
    """sha256 of a module's state dict (names, dtypes, shapes and bytes, in key order)."""
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class ClipModel:
    """:class:`EvalModel` over the in-repo encoders (:class:`bench.models.model.CLIP`).

    Args:
        model: The encoders.
        name: The display name.
        family: The family that resolved the name.
        weights_sha256: The weights' sha256 (default: ``model.weights_sha256``, else the
            tensors' sha256).
        tokenizer: ``texts -> [N, context_length]`` ids (default: OpenAI's BPE at the
            model's context length).
        assumptions: What was assumed about the architecture.
        preprocess: ``PIL image -> [3, R, R]`` (default: OpenAI's at the model's resolution).
        preprocess_id: The id naming ``preprocess`` (required with it).
    """

    def __init__(
        self,
        model: Any,
        name: str,
        family: str = "openai",
        *,
        weights_sha256: str | None = None,
        tokenizer: Callable[[Sequence[str]], torch.Tensor] | None = None,
        assumptions: Sequence[str] = (),
        preprocess: Callable[[Image.Image], torch.Tensor] | None = None,
        preprocess_id: str | None = None,
    ) -> None:
        from bench.models import transforms

        if (preprocess is None) != (preprocess_id is None):
            raise ValueError("give preprocess and preprocess_id together")
        self.module = model.eval()
        self.name = name
        self.family = family
        self.weights_sha256 = weights_sha256 or model.weights_sha256 or tensors_sha256(model)
        self.embed_dim = int(model.embed_dim)
        self.probe_dim = int(model.probe_dim)
        vit = model.config.vision_patch_size is not None
        self.probe_kind = PROBE_KINDS[0] if vit else PROBE_KINDS[1]
        self.preprocess_id = preprocess_id or transforms.preprocess_id(model.image_resolution)
        self.assumptions = tuple(assumptions)
        self._transform = preprocess or transforms.image_transform(model.image_resolution)
        self._tokenizer = tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self._transform(image)

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        if self._tokenizer is not None:
            return self._tokenizer(texts)
        from bench.models.tokenizer import tokenize

        return tokenize(list(texts), context_length=self.module.context_length, truncate=True)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.module.encode_text(tokens)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.module.encode_image(images)

    def image_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.module.image_features(images)

    def to(self, device: str | torch.device) -> ClipModel:
        self.module.to(device)
        return self
