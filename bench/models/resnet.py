"""OpenAI's modified ResNet image tower.

It differs from torchvision's ResNet in three ways: a stem of three 3x3 convolutions with an
average pool instead of one 7x7 convolution and a max pool; anti-aliased strided blocks (an
average pool before the stride-1 convolution instead of a strided convolution); and attention
pooling, where the mean of the final feature map is the query, instead of global average pooling.
Parameter names and shapes are OpenAI's.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


class Bottleneck(nn.Module):
    """Bottleneck block with the stride applied by an average pool after the 3x3 convolution."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.downsample: nn.Module | None = None
        if stride > 1 or inplanes != planes * self.expansion:
            # The key "-1" (a pool, no parameters) keeps OpenAI's "downsample.0/.1" names.
            self.downsample = nn.Sequential(
                OrderedDict(
                    [
                        ("-1", nn.AvgPool2d(stride)),
                        ("0", nn.Conv2d(inplanes, planes * self.expansion, 1, bias=False)),
                        ("1", nn.BatchNorm2d(planes * self.expansion)),
                    ]
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        identity = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + identity)


class AttentionPool2d(nn.Module):
    """Multi-head attention pooling whose single query is the mean of the feature map.

    Args:
        spacial_dim: Side of the input feature map (resolution // 32).
        embed_dim: Channels of the feature map.
        num_heads: Attention heads.
        output_dim: Output width (CLIP's embedding width).
    """

    def __init__(self, spacial_dim: int, embed_dim: int, num_heads: int, output_dim: int) -> None:
        super().__init__()
        self.positional_embedding = nn.Parameter(
            torch.randn(spacial_dim**2 + 1, embed_dim) / embed_dim**0.5
        )
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.num_heads = num_heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(2).transpose(1, 2)  # NCHW -> N(HW)C
        x = torch.cat([x.mean(dim=1, keepdim=True), x], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        n, length, width = x.shape
        head_dim = width // self.num_heads
        # Only the mean token's output is used, so it is the only query computed.
        q = self.q_proj(x[:, :1]).view(n, 1, self.num_heads, head_dim).transpose(1, 2)
        k = self.k_proj(x).view(n, length, self.num_heads, head_dim).transpose(1, 2)
        v = self.v_proj(x).view(n, length, self.num_heads, head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.c_proj(out.transpose(1, 2).reshape(n, width))


@contextlib.contextmanager
def _frozen_batchnorm_stats(module: nn.Module) -> Iterator[None]:
    """Restores BatchNorm running statistics after the block, so that gradient checkpointing's
    recomputation of a forward pass does not update them a second time."""
    saved = [
        (buf, buf.clone())
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        for buf in m.buffers()
    ]
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)


class ModifiedResNet(nn.Module):
    """The ResNet image tower of OpenAI's CLIP.

    Args:
        layers: Number of bottleneck blocks in each of the four stages.
        output_dim: Embedding width.
        heads: Attention-pool heads (OpenAI: ``width * 32 // 64``).
        input_resolution: Image side; a multiple of 32.
        width: Stem width; stage ``i`` has ``width * 2**i`` planes, features ``width * 32``.
    """

    def __init__(
        self,
        layers: tuple[int, int, int, int],
        output_dim: int,
        heads: int,
        input_resolution: int = 224,
        width: int = 64,
    ) -> None:
        super().__init__()
        self.output_dim = output_dim
        self.input_resolution = input_resolution
        self.grad_checkpointing = False
        self.conv1 = nn.Conv2d(3, width // 2, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, kernel_size=3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        self._inplanes = width  # mutated while the stages are built
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(width * 8, layers[3], stride=2)
        self.attnpool = AttentionPool2d(input_resolution // 32, width * 32, heads, output_dim)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        layers = [Bottleneck(self._inplanes, planes, stride)]
        self._inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self._inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        return self.avgpool(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x.to(self.conv1.weight.dtype))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                if self.grad_checkpointing and torch.is_grad_enabled():
                    x = checkpoint(
                        block,
                        x,
                        use_reentrant=False,
                        context_fn=lambda b=block: (
                            contextlib.nullcontext(),
                            _frozen_batchnorm_stats(b),
                        ),
                    )
                else:
                    x = block(x)
        return self.attnpool(x)
