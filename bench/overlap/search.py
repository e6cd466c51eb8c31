"""Nearest training image of every query, streamed over the training set in chunks.

The training set never has to fit in memory: its embeddings arrive chunk by chunk and each
query keeps its best similarity and the index that gave it. Queries are matched in blocks,
so a block x chunk similarity matrix is the largest thing held (on the GPU when the search
device is one). Ties keep the earliest training index.
"""

from __future__ import annotations

import hashlib

import torch
from PIL import Image


def pixel_hash(image: Image.Image) -> str:
    """sha256 of an image's decoded RGB pixels and size.

    Byte-identical files decode to identical pixels, so this finds every byte-identical copy,
    plus lossless re-saves, and it works for test sets stored as arrays (no files).
    """
    rgb = image.convert("RGB")
    h = hashlib.sha256(f"{rgb.width}x{rgb.height}|".encode())
    h.update(rgb.tobytes())
    return h.hexdigest()


class NearestSearch:
    """Running best match of ``queries`` over gallery chunks.

    Args:
        queries: ``[Q, D]`` unit vectors.
        exclude: ``[Q]`` gallery index each query must not match (-1: none); the
            calibration's held-out queries exclude their own original.
        block: Queries per matrix product.
    """

    def __init__(
        self, queries: torch.Tensor, exclude: torch.Tensor | None = None, block: int = 4096
    ) -> None:
        self.queries = queries
        q = queries.shape[0]
        self.exclude = (
            exclude.to(queries.device)
            if exclude is not None
            else torch.full((q,), -1, dtype=torch.int64, device=queries.device)
        )
        self.best = torch.full((q,), -2.0, device=queries.device)
        self.index = torch.full((q,), -1, dtype=torch.int64, device=queries.device)
        self.block = block
        self.compared = 0

    def update(self, gallery: torch.Tensor, start: int) -> None:
        """Folds in gallery rows ``start .. start + len(gallery)``."""
        gallery = gallery.to(self.queries.device, self.queries.dtype)
        cols = torch.arange(start, start + gallery.shape[0], device=gallery.device)
        for lo in range(0, self.queries.shape[0], self.block):
            sims = self.queries[lo : lo + self.block] @ gallery.T
            mask = self.exclude[lo : lo + self.block, None] == cols[None, :]
            sims = sims.masked_fill(mask, -2.0)
            val, arg = sims.max(dim=1)
            better = val > self.best[lo : lo + self.block]
            self.best[lo : lo + self.block] = torch.where(
                better, val, self.best[lo : lo + self.block]
            )
            self.index[lo : lo + self.block] = torch.where(
                better, arg + start, self.index[lo : lo + self.block]
            )
        self.compared += self.queries.shape[0] * gallery.shape[0]
