"""The contrastive loss against a hand computation; AdamW groups and hyper-parameters; the
warm-up + cosine schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from bench.models import CLIP, get_config
from bench.train.config import load_config
from bench.train.loss import contrastive_loss
from bench.train.optim import (
    WarmupCosine,
    adam_hyperparameters,
    make_optimizer,
    make_scheduler,
    param_groups,
)


def _hand_loss(img: np.ndarray, txt: np.ndarray, scale: float) -> float:
    img = img / np.linalg.norm(img, axis=1, keepdims=True)
    txt = txt / np.linalg.norm(txt, axis=1, keepdims=True)
    logits = scale * img @ txt.T
    n = len(img)

    def ce(rows: np.ndarray) -> float:
        total = 0.0
        for i in range(n):
            row = rows[i]
            total += -(row[i] - (row.max() + math.log(np.exp(row - row.max()).sum())))
        return total / n

    return (ce(logits) + ce(logits.T)) / 2


def test_loss_matches_hand_computation():
    rng = np.random.default_rng(0)
    img, txt = rng.normal(size=(5, 8)), rng.normal(size=(5, 8))
    for scale in (1.0, 1 / 0.07, 100.0):
        got = contrastive_loss(torch.tensor(img), torch.tensor(txt), torch.tensor(scale))
        assert got.item() == pytest.approx(_hand_loss(img, txt, scale), rel=1e-5)


def test_loss_is_low_for_matched_pairs_and_symmetric():
    x = torch.eye(4) * 3
    assert contrastive_loss(x, x, torch.tensor(100.0)).item() < 1e-6
    a, b = torch.randn(6, 8), torch.randn(6, 8)
    s = torch.tensor(14.3)
    assert contrastive_loss(a, b, s).item() == pytest.approx(contrastive_loss(b, a, s).item())


def test_logit_scale_starts_at_one_over_0_07():
    model = CLIP(get_config("tiny-vit"))
    assert model.logit_scale.exp().item() == pytest.approx(1 / 0.07, rel=1e-6)


@pytest.mark.parametrize("name", ["tiny-vit", "tiny-rn"])
def test_weight_decay_groups(name):
    model = CLIP(get_config(name))
    decay, no_decay = param_groups(model, 0.2)
    assert decay["weight_decay"] == 0.2 and no_decay["weight_decay"] == 0.0
    names = decay["names"] + no_decay["names"]
    assert sorted(names) == sorted(n for n, _ in model.named_parameters())  # each exactly once
    for n in no_decay["names"]:
        p = dict(model.named_parameters())[n]
        assert p.ndim < 2 or "embedding" in n, n
    for n in decay["names"]:
        assert not (n.endswith(".bias") or "ln_" in n or "bn" in n or "embedding" in n), n
    expected_no_decay = {
        "logit_scale",
        "positional_embedding",
        "token_embedding.weight",
        "ln_final.weight",
        "ln_final.bias",
    }
    if name == "tiny-vit":
        expected_no_decay |= {
            "visual.class_embedding",
            "visual.positional_embedding",
            "visual.ln_pre.weight",
            "visual.transformer.resblocks.0.attn.in_proj_bias",
        }
        assert {
            "visual.conv1.weight",
            "visual.proj",
            "text_projection",
            "visual.transformer.resblocks.0.attn.in_proj_weight",
        } <= set(decay["names"])
    else:
        expected_no_decay |= {"visual.attnpool.positional_embedding", "visual.bn1.weight"}
        assert {"visual.conv1.weight", "visual.attnpool.c_proj.weight"} <= set(decay["names"])
    assert expected_no_decay <= set(no_decay["names"])


def test_adam_hyperparameters_follow_the_paper():
    cfg = load_config(None)
    assert adam_hyperparameters(cfg, is_vit=True) == ((0.9, 0.98), 1e-6)
    assert adam_hyperparameters(cfg, is_vit=False) == ((0.9, 0.999), 1e-8)
    cfg = load_config(None, ["beta2=0.95", "eps=1e-7"])
    assert adam_hyperparameters(cfg, is_vit=True) == ((0.9, 0.95), 1e-7)
    opt = make_optimizer(CLIP(get_config("tiny-rn")), load_config(None), is_vit=False)
    assert opt.param_groups[0]["betas"] == (0.9, 0.999) and opt.param_groups[0]["eps"] == 1e-8


def test_schedule_values():
    f = WarmupCosine(warmup=10, total=110)
    assert f(0) == pytest.approx(0.1) and f(4) == pytest.approx(0.5) and f(9) == 1.0
    assert f(10) == 1.0
    assert f(60) == pytest.approx(0.5)  # halfway through the cosine
    assert f(109) == pytest.approx(0.5 * (1 + math.cos(math.pi * 99 / 100)))
    assert f(110) == pytest.approx(0.0, abs=1e-12)
    lrs = [f(s) for s in range(10, 110)]
    assert all(
        a >= b for a, b in zip(lrs[:-1], lrs[1:], strict=True)
    )  # decays monotonically after warm-up


def test_scheduler_drives_the_optimizer():
    cfg = load_config(None, ["lr=0.01", "warmup_steps=2", "steps=6"])
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    sched = make_scheduler(opt, cfg)
    seen = []
    for _ in range(6):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    expected = [0.005, 0.01] + [0.01 * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(4)]
    assert seen == pytest.approx(expected)
