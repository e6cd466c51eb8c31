"""OpenAI's Vision Transformer image tower (class token, ``ln_pre``, ``ln_post``, ``proj``)."""

from __future__ import annotations

import torch
from torch import nn

from bench.models.layers import LayerNorm, Transformer


class VisionTransformer(nn.Module):
    """The ViT image tower of OpenAI's CLIP.

    Args:
        input_resolution: Image side; a multiple of ``patch_size``.
        patch_size: Side of the square patches.
        width: Transformer width.
        layers: Transformer blocks.
        heads: Attention heads (OpenAI: ``width // 64``).
        output_dim: Embedding width.
        activation: The MLPs' activation (``quick_gelu`` or ``gelu``).
    """

    def __init__(
        self,
        input_resolution: int,
        patch_size: int,
        width: int,
        layers: int,
        heads: int,
        output_dim: int,
        activation: str = "quick_gelu",
    ) -> None:
        super().__init__()
        self.input_resolution = input_resolution
        self.output_dim = output_dim
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width**-0.5
        grid = input_resolution // patch_size
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid**2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, activation=activation)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The class token after ``ln_post``, before ``proj``: the paper's probe features
        (Appendix A.3, I_f in Figure 3), ``[N, width]``."""
        x = self.conv1(x.to(self.conv1.weight.dtype))  # N, width, grid, grid
        x = x.flatten(2).transpose(1, 2)  # N, grid**2, width
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[:, 0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_pooled(x) @ self.proj
