"""Recall at k for zero-shot image–text retrieval (paper Table 13)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

KS = (1, 5, 10)


def _topk(sim: torch.Tensor, k: int) -> torch.Tensor:
    return sim.topk(min(k, sim.shape[1]), dim=1).indices


def text_retrieval_recall(
    sim: torch.Tensor, text_image: torch.Tensor, ks: Sequence[int] = KS
) -> dict[int, torch.Tensor]:
    """Image queries: for each image, is any of its captions among the top k texts?

    Args:
        sim: ``[n_images, n_texts]`` similarities (higher is closer).
        text_image: ``[n_texts]``, the image index of each text.

    Returns:
        ``{k: bool [n_images]}``, a hit per query image.
    """
    hits = {}
    for k in ks:
        top = _topk(sim, k)  # [n_images, k] text indices
        owner = text_image[top]  # their images
        hits[k] = (owner == torch.arange(sim.shape[0]).unsqueeze(1)).any(dim=1)
    return hits


def image_retrieval_recall(
    sim: torch.Tensor, text_image: torch.Tensor, ks: Sequence[int] = KS
) -> dict[int, torch.Tensor]:
    """Text queries: for each caption, is its image among the top k images?

    Args:
        sim: ``[n_images, n_texts]`` similarities.
        text_image: ``[n_texts]``, the image index of each text.

    Returns:
        ``{k: bool [n_texts]}``, a hit per query text.
    """
    sim_t = sim.t()
    return {k: (_topk(sim_t, k) == text_image.unsqueeze(1)).any(dim=1) for k in ks}
