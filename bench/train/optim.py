"""AdamW with CLIP's weight-decay groups and hyper-parameters, and the warm-up + cosine schedule.

The CLIP paper (section 2.5 and appendix F): AdamW with decoupled weight decay applied to all
weights that are not gains or biases; β2 = 0.98 and ε = 1e-6 for the ViTs (0.999 and 1e-8
for the ResNets); a cosine learning-rate schedule after a linear warm-up. Embeddings
(token, positional, class) and the logit scale are not decayed either, as in open_clip.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from bench.train.config import TrainConfig


def is_decayed(name: str, param: torch.Tensor) -> bool:
    """Whether weight decay applies: not to gains/biases (1-D), embeddings or the logit scale."""
    if param.ndim < 2 or name.endswith(".bias") or name == "logit_scale":
        return False
    return "embedding" not in name


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two AdamW groups: decayed weights and the rest (names kept for inspection)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (decay if is_decayed(name, param) else no_decay).append((name, param))
    return [
        {
            "params": [p for _, p in decay],
            "names": [n for n, _ in decay],
            "weight_decay": weight_decay,
        },
        {
            "params": [p for _, p in no_decay],
            "names": [n for n, _ in no_decay],
            "weight_decay": 0.0,
        },
    ]


def adam_hyperparameters(config: TrainConfig, is_vit: bool) -> tuple[tuple[float, float], float]:
    """``(betas, eps)``: the config's if set, else the CLIP paper's for the architecture."""
    beta2 = config.beta2 if config.beta2 is not None else (0.98 if is_vit else 0.999)
    eps = config.eps if config.eps is not None else (1e-6 if is_vit else 1e-8)
    return (config.beta1, beta2), eps


def make_optimizer(model: nn.Module, config: TrainConfig, is_vit: bool) -> torch.optim.AdamW:
    """AdamW over :func:`param_groups` with :func:`adam_hyperparameters`."""
    betas, eps = adam_hyperparameters(config, is_vit)
    fused = all(p.is_cuda for p in model.parameters())
    return torch.optim.AdamW(
        param_groups(model, config.weight_decay),
        lr=config.lr,
        betas=betas,
        eps=eps,
        fused=fused or None,
    )


class WarmupCosine:
    """Learning-rate factor: linear warm-up to 1 over ``warmup`` steps, then cosine to 0.

    Step ``s`` (0-based, the step about to be taken) gets ``(s + 1) / warmup`` during warm-up
    and ``0.5 * (1 + cos(pi * (s - warmup) / (total - warmup)))`` after it.
    """

    def __init__(self, warmup: int, total: int) -> None:
        self.warmup, self.total = warmup, total

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        decay_steps = max(1, self.total - self.warmup)
        progress = min(1.0, (step - self.warmup) / decay_steps)
        return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig
) -> torch.optim.lr_scheduler.LambdaLR:
    """A :class:`WarmupCosine` LambdaLR over ``config.steps`` steps."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, WarmupCosine(config.warmup_steps, config.steps)
    )


def load_scheduler_state(
    scheduler: torch.optim.lr_scheduler.LambdaLR, state: dict[str, Any], config: TrainConfig
) -> None:
    """Restores the scheduler's position but keeps the current config's schedule shape.

    LambdaLR would also restore the saved warm-up and total; a resumed run that extends
    ``steps`` should decay over the new total.
    """
    scheduler.load_state_dict(state)
    scheduler.lr_lambdas = [
        WarmupCosine(config.warmup_steps, config.steps) for _ in scheduler.lr_lambdas
    ]
