"""Recall at k against a brute-force count written out in the test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch


def _module():
    import bench

    path = Path(bench.__file__).parent / "suites" / "retrieval_metrics.py"
    spec = importlib.util.spec_from_file_location("retrieval_metrics", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _brute(sim: np.ndarray, text_image: np.ndarray, k: int) -> tuple[float, float]:
    n_img, n_txt = sim.shape
    t_hits = 0
    for i in range(n_img):
        order = sorted(range(n_txt), key=lambda t: -sim[i, t])[:k]
        t_hits += any(text_image[t] == i for t in order)
    i_hits = 0
    for t in range(n_txt):
        order = sorted(range(n_img), key=lambda i: -sim[i, t])[:k]
        i_hits += text_image[t] in order
    return 100 * t_hits / n_img, 100 * i_hits / n_txt


def test_recall_matches_brute_force():
    mod = _module()
    rng = np.random.default_rng(0)
    n_img, per = 12, 5
    text_image = np.repeat(np.arange(n_img), per)
    sim = rng.normal(size=(n_img, n_img * per))
    sim[text_image, np.arange(n_img * per)] += 0.7  # some signal
    t = mod.text_retrieval_recall(torch.tensor(sim), torch.tensor(text_image))
    i = mod.image_retrieval_recall(torch.tensor(sim), torch.tensor(text_image))
    for k in (1, 5, 10):
        want_t, want_i = _brute(sim, text_image, k)
        assert abs(100 * t[k].float().mean().item() - want_t) < 1e-4
        assert abs(100 * i[k].float().mean().item() - want_i) < 1e-4
        if k == 1:
            assert 0 < want_t < 100 and 0 < want_i < 100  # the case is not trivial
