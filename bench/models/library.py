""":class:`LibraryModel`: an :class:`~bench.models.seam.EvalModel` over a model that runs on its
own library's code (open_clip's timm, SigLIP, CoCa, EVA towers; transformers' SigLIP, and
CLIP configurations off the OpenAI architecture).

Probe features (the pre-projection pooled image features, as the paper's Appendix A.3):

- open_clip ``VisionTransformer``: the pooled token after ``ln_post``, before ``proj``;
- transformers ``CLIPModel``: ``vision_model(...).pooler_output`` (the class token after
  ``post_layernorm``), before ``visual_projection``;
- SigLIP (either library) and every tower without a separate projection (timm heads, ResNets):
  the embedding itself. SigLIP's image embedding is the output of its attention-pooling head
  (MAP), with no linear projection after it, so the pooled output is the last pre-embedding
  feature there is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from PIL import Image

Encoder = Callable[[torch.Tensor], torch.Tensor]


class LibraryModel:
    """:class:`~bench.models.seam.EvalModel` over callables of a library's model.

    Args:
        module: The library's model (moved by :meth:`to`; put in eval mode here).
        name: The display name.
        family: ``open_clip`` or ``hf``.
        weights_sha256: sha256 naming the weights.
        embed_dim: Width of the joint embedding.
        probe_dim: Width of the probe features.
        preprocess: ``PIL image -> [3, H, W]``, the library's processor.
        preprocess_id: Stable id of ``preprocess``.
        tokenize: ``texts -> [N, L]`` ids, the library's tokenizer.
        encode_text: ``ids -> [N, embed_dim]``.
        image_features: ``images -> (embedding, probe)``.
        probe_kind: What the probe features are (``bench.models.seam.PROBE_KINDS``).
        assumptions: What was assumed about the architecture.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        name: str,
        family: str,
        *,
        weights_sha256: str,
        embed_dim: int,
        probe_dim: int,
        preprocess: Callable[[Image.Image], torch.Tensor],
        preprocess_id: str,
        tokenize: Callable[[Sequence[str]], torch.Tensor],
        encode_text: Encoder,
        image_features: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
        assumptions: Sequence[str] = (),
        probe_kind: str = "pre-projection",
    ) -> None:
        from bench.models.seam import PROBE_KINDS

        if probe_kind not in PROBE_KINDS:
            raise ValueError(f"probe_kind {probe_kind!r} is not one of {PROBE_KINDS}")
        self.probe_kind = probe_kind
        self.module = module.eval()
        self.name = name
        self.family = family
        self.weights_sha256 = weights_sha256
        self.embed_dim = int(embed_dim)
        self.probe_dim = int(probe_dim)
        self.preprocess_id = preprocess_id
        self.assumptions = tuple(assumptions)
        self._preprocess = preprocess
        self._tokenize = tokenize
        self._encode_text = encode_text
        self._image_features = image_features

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.module.parameters()).dtype

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        return self._preprocess(image)

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        return self._tokenize(list(texts))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self._encode_text(tokens.to(self.device))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.image_features(images)[0]

    def image_features(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._image_features(images.to(self.device, self.dtype))

    def to(self, device: str | torch.device) -> LibraryModel:
        self.module.to(device)
        return self
