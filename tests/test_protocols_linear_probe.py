"""The probe protocols, each step pinned: C on val, the refit on train + val (linear probe) or
on the k-shot train set only (few-shot), and the paper's pre-projection probe features."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from eval_fixtures import _one_thread  # noqa: F401
from test_suites import FakeCtx, blobs

from bench.probe import LinearProbe
from bench.protocols.linear_probe import Labeled, few_shot_probe, linear_probe
from bench.suites import SUITES
from bench.suites.few_shot import run_few_shot


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    """Every ``X`` that ``LinearProbe.fit`` receives, in order."""
    seen: list[torch.Tensor] = []
    real = LinearProbe.fit

    def fit(self, X, y, *args, **kwargs):
        seen.append(torch.as_tensor(np.asarray(X)))
        return real(self, X, y, *args, **kwargs)

    monkeypatch.setattr(LinearProbe, "fit", fit)
    return seen


def _labeled(n: int, seed: int) -> Labeled:
    fs = blobs(n, seed)
    return Labeled(fs.probe, fs.labels)


def test_linear_probe_refits_on_train_plus_val(fits):
    train, val, test = _labeled(30, 0), _labeled(10, 1), _labeled(20, 2)
    out = linear_probe(train, val, test, "accuracy", device="cpu")
    assert fits, "the final probe is fitted with LinearProbe.fit"
    assert fits[-1].shape[0] == len(train) + len(val) == out.fitted.fit_size
    torch.testing.assert_close(fits[-1], torch.cat([train.x, val.x]))
    # C is the one the search scored best on val
    assert dict(map(tuple, out.search))[out.C] == max(s for _, s in out.search)
    assert out.scores.value > 70


def test_few_shot_probe_refits_on_the_k_shot_train_only(fits):
    train, val, test = _labeled(4, 0), _labeled(4, 1), _labeled(20, 2)
    out = few_shot_probe(train, val, test, "accuracy", device="cpu")
    assert out.fitted.fit_size == len(train)
    torch.testing.assert_close(fits[-1], train.x)


def test_few_shot_suite_never_fits_on_val(fits, monkeypatch: pytest.MonkeyPatch):
    import bench.suites.few_shot as few_shot

    monkeypatch.setattr(
        few_shot, "zero_shot_result", lambda ctx, task, suite, **kw: {"suite": suite, **kw}
    )
    ctx = FakeCtx(sizes={"train": 30, "val": 30, "test": 20})
    suite = dataclasses.replace(SUITES.get("few-shot"), settings={"shots": (1, 4), "seeds": (0, 1)})
    task = _Task()
    run_few_shot(ctx, [task], suite)
    val_rows = {tuple(r.tolist()) for r in ctx.features(task, "val").probe}
    train_rows = {tuple(r.tolist()) for r in ctx.features(task, "train").probe}
    assert len(fits) >= 4
    for x in fits:
        rows = {tuple(r.tolist()) for r in x}
        assert rows <= train_rows and not rows & val_rows
    sizes = [r["split_sizes"]["train"] for r in ctx.written if r.get("seed") is not None]
    assert sorted(set(sizes)) == [4 * 1, 4 * 4]  # 4 classes x k
    probes = [r["probe"] for r in ctx.written if r.get("seed") is not None]
    assert all(p["refit"] == "train (k-shot)" and p["features"] == "pre-projection" for p in probes)


@dataclasses.dataclass(frozen=True)
class _Task:
    name: str = "blobs"
    version: int = 1
    config_hash: str = "0" * 64
    metric: str = "accuracy"
    probe_folds: int = 1
