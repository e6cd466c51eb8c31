"""The symmetric contrastive (InfoNCE) loss of CLIP, exact across any number of ranks.

Single process, batch of N pairs: ``logits = scale * norm(img) @ norm(txt).T`` (N x N), and the
loss is the mean of the cross-entropies of the rows (image -> text) and of the columns
(text -> image), the matching pair being the target.

On W ranks each holding b = N / W pairs, every rank all-gathers the features of the others
*with gradients* and computes the rows of the global logit matrix that belong to its own pairs
(its b images against all N texts, and its b texts against all N images). The mean of the
ranks' losses is then the single-process loss, and, because the gather's backward sums each
rank's contribution to every feature's gradient and DDP averages over ranks, the parameter
gradients are those of single-process training at the same global batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


class _AllGather(torch.autograd.Function):
    """Concatenation of every rank's tensor (same shape on all ranks), differentiable.

    The backward all-reduces (sums) the gradient of the concatenation, since every rank's
    loss depends on every rank's features, and returns this rank's slice of it.
    """

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        world, rank = dist.get_world_size(), dist.get_rank()
        ctx.rank, ctx.size = rank, tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.size : (ctx.rank + 1) * ctx.size]


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """All ranks' ``tensor`` concatenated along dim 0, with gradients flowing back to each."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    return _AllGather.apply(tensor)


def contrastive_loss(
    image_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """CLIP's symmetric cross-entropy for this rank's pairs.

    Args:
        image_features: ``[b, D]`` this rank's image embeddings (normalised here).
        text_features: ``[b, D]`` the matching text embeddings.
        logit_scale: The *exponentiated* temperature (a scalar tensor, e.g. ``100``).

    Returns:
        The scalar loss: (CE(image -> text) + CE(text -> image)) / 2, averaged over this
        rank's pairs. With one process it is the loss of the whole batch; with W ranks the
        mean of the ranks' values is.
    """
    image_features = F.normalize(image_features.float(), dim=-1)
    text_features = F.normalize(text_features.float(), dim=-1)
    all_images = gather_with_grad(image_features)
    all_texts = gather_with_grad(text_features)
    local = image_features.shape[0]
    rank = dist.get_rank() if all_images.shape[0] != local else 0
    targets = torch.arange(local, device=image_features.device) + rank * local
    scale = logit_scale.float()
    logits_per_image = scale * image_features @ all_texts.T
    logits_per_text = scale * text_features @ all_images.T
    return (
        F.cross_entropy(logits_per_image, targets) + F.cross_entropy(logits_per_text, targets)
    ) / 2
