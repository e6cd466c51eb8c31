"""bench.probe: the L-BFGS linear probe against scikit-learn, and the paper's C search."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from bench.errors import BenchError, UnknownNameError
from bench.probe import LinearProbe, c_grid, parametric_search, search_C


def _gaussian(n: int, d: int = 64, k: int = 10, seed: int = 0, sep: float = 0.35):
    """Overlapping Gaussian classes (not separable), with an offset mean as CLIP features."""
    rng = np.random.default_rng(seed)
    means = np.random.default_rng(99).normal(size=(k, d)) * sep
    y = rng.integers(0, k, n)
    X = means[y] + rng.normal(size=(n, d)) + 0.5
    return X.astype(np.float32), y


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def _acc(model, X, y) -> float:
    return 100 * float((model.predict(X) == y).mean())


@pytest.mark.parametrize("C", [0.01, 1.0])
def test_matches_sklearn_at_the_same_C(C):
    X, y = _gaussian(4000)
    Xtr, ytr, Xte, yte = X[:2000], y[:2000], X[2000:], y[2000:]
    sk = LogisticRegression(solver="lbfgs", C=C, max_iter=1000).fit(Xtr, ytr)
    ours = LinearProbe(C=C, device="cpu").fit(Xtr, ytr)
    assert 30 < _acc(sk, Xte, yte) < 95  # neither chance nor separable
    assert abs(_acc(ours, Xte, yte) - _acc(sk, Xte, yte)) <= 0.3
    assert ours.coef_.shape == (10, 64) and ours.intercept_.shape == (10,)
    assert _rel(ours.coef_, sk.coef_) < 0.02
    assert _rel(ours.intercept_, sk.intercept_) < 0.05  # the intercepts are less determined
    assert (ours.classes_ == sk.classes_).all()


def test_matches_sklearn_on_digits():
    X, y = load_digits(return_X_y=True)  # raw 0..16 pixels, not standardised
    sk = LogisticRegression(C=0.01, max_iter=1000).fit(X[:1000], y[:1000])
    ours = LinearProbe(C=0.01, device="cpu").fit(X[:1000], y[:1000])
    assert abs(_acc(ours, X[1000:], y[1000:]) - _acc(sk, X[1000:], y[1000:])) <= 0.3
    assert _rel(ours.coef_, sk.coef_) < 0.03


def test_same_optimum_as_sklearn_when_both_converge_tightly():
    # checks the loss scaling (C against the summed loss, unpenalised intercept) exactly
    X, y = _gaussian(1000, d=16, k=4)
    X = X.astype(np.float64)  # scikit-learn fits float32 input in float32
    sk = LogisticRegression(C=0.1, max_iter=5000, tol=1e-10).fit(X, y)
    ours = LinearProbe(C=0.1, tol=1e-9, dtype=torch.float64, device="cpu").fit(X, y)
    assert _rel(ours.coef_, sk.coef_) < 1e-5
    assert np.abs(ours.intercept_ - sk.intercept_).max() < 1e-5
    # and a different C gives a clearly different optimum (the test can fail)
    other = LinearProbe(C=0.2, tol=1e-9, dtype=torch.float64, device="cpu").fit(X, y)
    assert _rel(other.coef_, sk.coef_) > 1e-2


def test_binary_matches_sklearn_binary_logistic_regression():
    X, y = _gaussian(1200, d=20, k=2)
    X = X.astype(np.float64)
    labels = np.array(["cat", "dog"])[y]  # any sortable labels
    sk = LogisticRegression(C=0.5, max_iter=1000, tol=1e-8).fit(X, labels)
    ours = LinearProbe(C=0.5, tol=1e-7, dtype=torch.float64, device="cpu").fit(X, labels)
    assert ours.coef_.shape == (1, 20) and ours.intercept_.shape == (1,)
    assert _rel(ours.coef_, sk.coef_) < 1e-4
    assert (ours.predict(X) == sk.predict(X)).all()
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(ours.decision_function(X), sk.decision_function(X), atol=1e-4)


def test_multilabel_is_one_vs_rest_with_the_same_penalty():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(800, 12))
    Y = (X @ rng.normal(size=(12, 5)) + rng.normal(size=(800, 5)) > 0.5).astype(int)
    sk = OneVsRestClassifier(LogisticRegression(C=0.3, max_iter=1000, tol=1e-8)).fit(X, Y)
    sk_coef = np.concatenate([e.coef_ for e in sk.estimators_])
    ours = LinearProbe(C=0.3, tol=1e-7, dtype=torch.float64, device="cpu").fit(X, Y)
    assert ours.coef_.shape == (5, 12)
    assert _rel(ours.coef_, sk_coef) < 1e-4
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-5)
    assert (ours.predict(X) == sk.predict(X)).all()


def test_predict_proba_and_torch_inputs():
    X, y = _gaussian(600, d=8, k=5)
    probe = LinearProbe(C=1.0, device="cpu").fit(torch.from_numpy(X), torch.from_numpy(y))
    p = probe.predict_proba(X)
    assert p.shape == (600, 5)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    assert (probe.predict(X) == p.argmax(1)).all()
    assert (probe.predict(torch.from_numpy(X)) == probe.predict(X)).all()
    assert probe.n_iter_ > 0


def test_warm_start_reaches_the_same_optimum():
    X, y = _gaussian(1000, d=16, k=4)
    cold = LinearProbe(C=0.1, tol=1e-8, dtype=torch.float64, device="cpu").fit(X, y)
    start = LinearProbe(C=1.0, tol=1e-8, dtype=torch.float64, device="cpu").fit(X, y)
    warm = LinearProbe(C=0.1, tol=1e-8, dtype=torch.float64, device="cpu")
    warm.fit(X, y, init=(start.coef_, start.intercept_))
    assert _rel(warm.coef_, cold.coef_) < 1e-5


def test_bad_input_raises_bench_errors():
    X, y = _gaussian(50, d=4, k=3)
    with pytest.raises(BenchError, match="positive"):
        LinearProbe(C=0)
    with pytest.raises(BenchError, match="one label per row"):
        LinearProbe(device="cpu").fit(X, y[:-1])
    with pytest.raises(BenchError, match="at least 2 classes"):
        LinearProbe(device="cpu").fit(X, np.zeros(50, int))
    with pytest.raises(BenchError, match="not fitted"):
        LinearProbe(device="cpu").predict(X)
    with pytest.raises(BenchError, match=r"\[n_samples, 4\]"):
        LinearProbe(device="cpu").fit(X, y).predict(X[:, :3])


def test_grid_is_the_papers():
    grid = c_grid()
    assert len(grid) == 97  # 96 steps of 1/8 decade over 1e-6 .. 1e6
    assert grid[0] == pytest.approx(1e-6) and grid[-1] == pytest.approx(1e6)
    steps = np.diff(np.log10(grid))
    np.testing.assert_allclose(steps, 1 / 8)
    assert [grid[j] for j in range(0, 97, 16)] == [1e-6, 1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6]


def test_parametric_search_visits_as_the_paper():
    calls: list[int] = []

    def evaluate(j: int) -> float:
        calls.append(j)
        return -abs(j - 37)

    peak, scores = parametric_search(evaluate, 97, 16)
    assert peak == 37
    # 7 initial values, then 4 halvings of the interval around the peak: 8, 4, 2, 1 steps
    assert calls == [0, 16, 32, 48, 64, 80, 96, 24, 40, 36, 44, 34, 38, 35, 37]
    assert set(scores) == set(calls) and len(calls) == len(set(calls))


def test_parametric_search_at_the_edge_and_on_ties():
    peak, scores = parametric_search(lambda j: -j, 97, 16)  # best at the smallest C
    assert peak == 0 and sorted(scores) == [0, 1, 2, 4, 8, 16, 32, 48, 64, 80, 96]
    peak, _ = parametric_search(lambda j: 1.0, 97, 16)  # all equal: the smallest C
    assert peak == 0


def test_search_C_on_features():
    X, y = _gaussian(3000, d=32, k=6, sep=0.5)
    Xtr, ytr, Xva, yva = X[:2000], y[:2000], X[2000:], y[2000:]
    best, scores = search_C(Xtr, ytr, Xva, yva, device="cpu")
    log_cs = np.log10(list(scores))
    # every visited C is on the 1/8-decade grid, the 7 initial values are there
    np.testing.assert_allclose(log_cs * 8, np.round(log_cs * 8), atol=1e-9)
    for c in (1e-6, 1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6):
        assert any(math.isclose(c, v) for v in scores)
    assert len(scores) <= 15 and list(scores) == sorted(scores)
    # it ended at 1/8-decade resolution: both neighbours of the best C were fitted
    for step in (-1 / 8, 1 / 8):
        nb = 10 ** (math.log10(best) + step)
        assert 1e-6 * 0.99 > nb or nb > 1e6 * 1.01 or any(math.isclose(nb, v) for v in scores)
    assert scores[best] == max(scores.values())
    assert scores[best] > 50  # it learnt something (6 classes: chance is ~17)
    # deterministic
    assert search_C(Xtr, ytr, Xva, yva, device="cpu") == (best, scores)


def test_search_C_scores_with_the_given_metric():
    X, y = _gaussian(1500, d=16, k=4, sep=0.5)
    seen = []

    def metric(probs: np.ndarray, labels: np.ndarray) -> float:
        seen.append((probs.shape, labels.copy()))
        return float((probs.argmax(1) == labels).mean())

    best, scores = search_C(X[:1000], y[:1000], X[1000:], y[1000:], metric=metric)
    assert len(seen) == len(scores)
    assert seen[0][0] == (500, 4) and (seen[0][1] == y[1000:]).all()
    named_best, named = search_C(X[:1000], y[:1000], X[1000:], y[1000:], metric="accuracy")
    assert named_best == best
    assert named == pytest.approx({c: 100 * s for c, s in scores.items()})
    with pytest.raises(UnknownNameError, match="accuracy"):
        search_C(X[:1000], y[:1000], X[1000:], y[1000:], metric="acuracy")


def test_search_C_multilabel_with_map():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(900, 10)).astype(np.float32)
    Y = (X @ rng.normal(size=(10, 4)) + rng.normal(size=(900, 4)) * 2 > 1).astype(int)
    best, scores = search_C(X[:600], Y[:600], X[600:], Y[600:], metric="map_11point")
    assert scores[best] == max(scores.values()) and 50 < scores[best] <= 100


@pytest.mark.gpu
def test_cuda_fit_matches_cpu():
    X, y = _gaussian(2000, d=32, k=5)
    cpu = LinearProbe(C=0.1, device="cpu").fit(X, y)
    gpu = LinearProbe(C=0.1).fit(X, y)  # device=None picks CUDA
    assert gpu._W.device.type == "cuda"
    assert _rel(gpu.coef_, cpu.coef_) < 1e-2
    assert (gpu.predict(X) == cpu.predict(X)).mean() > 0.995


def _objective(coef, intercept, X, y, C: float) -> float:
    """scikit-learn's mean objective at (coef, intercept), in float64, computed here."""
    from scipy.special import log_expit, logsumexp

    X, W, b = X.astype(np.float64), coef.astype(np.float64), intercept.astype(np.float64)
    z = X @ W.T + b
    if y.ndim == 1 and W.shape[0] > 1:  # multinomial
        loss = (logsumexp(z, 1) - z[np.arange(len(y)), y]).mean()
    else:  # binary (one column) or one-vs-rest multi-label
        Y = y[:, None] if y.ndim == 1 else y
        loss = -(Y * log_expit(z) + (1 - Y) * log_expit(-z)).sum(1).mean()
    return float(loss + 0.5 / (C * len(X)) * (W**2).sum())


def _digits_features(n: int, d: int = 24):
    """Digits through a fixed random ReLU projection with an offset mean: not separable, like a
    tiny CLIP's probe features (about 90% test accuracy at weak regularisation)."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    P = rng.normal(size=(64, d)) / 4
    F = np.maximum(X / 16 @ P + rng.normal(size=(len(X), d)) * 0.5, 0) + 1.5
    return F[:n].astype(np.float32), y[:n]


def _sklearn_fit(X, y, C: float):
    if y.ndim == 2:
        fits = [LogisticRegression(C=C, max_iter=1000).fit(X, y[:, j]) for j in range(y.shape[1])]
        return np.concatenate([m.coef_ for m in fits]), np.concatenate([m.intercept_ for m in fits])
    m = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    return m.coef_, m.intercept_


def _targets(y: np.ndarray, kind: str) -> np.ndarray:
    if kind == "binary":
        return (y >= 5).astype(int)
    if kind == "multilabel":
        return np.stack([y % 2 == 0, y >= 5, np.isin(y, [0, 6, 8, 9])], 1).astype(int)
    return y


def _worst_excess(X, y, Cs) -> tuple[float, float]:
    """The largest (ours - scikit-learn) / scikit-learn objective over ``Cs``, and its C."""
    worst = (-math.inf, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for C in Cs:
            ours = LinearProbe(C=C, device="cpu").fit(X, y)
            f_ours = _objective(ours.coef_, ours.intercept_, X, y, C)
            f_sk = _objective(*_sklearn_fit(X, y, C), X, y, C)
            worst = max(worst, ((f_ours - f_sk) / f_sk, C))
    return worst


def test_weak_regularisation_reaches_sklearns_objective():
    # the case: the demo model's digits probe features (train+val) at C = 1000, where a
    # tolerance applied to the centred problem's gradient stopped 0.8% above scikit-learn's
    with np.load(Path(__file__).parent / "data" / "demo_digits_features.npz") as f:
        X, y = f["features"].astype(np.float32), f["labels"].astype(np.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = _sklearn_fit(X, y, 1000.0)
    ours = LinearProbe(C=1000.0, device="cpu").fit(X, y)
    f_sk = _objective(*sk, X, y, 1000.0)
    assert _objective(ours.coef_, ours.intercept_, X, y, 1000.0) <= f_sk * (1 + 1e-4)


@pytest.mark.parametrize("kind", ["multinomial", "binary", "multilabel"])
def test_objective_never_above_sklearns_over_C(kind):
    X, y = _digits_features(400, d=16)
    excess, C = _worst_excess(X, _targets(y, kind), np.logspace(-6, 6, 13))
    assert excess <= 1e-4, f"at C={C:g} our objective is {excess:.2e} above scikit-learn's"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["multinomial", "binary", "multilabel"])
def test_objective_never_above_sklearns_over_the_full_grid(kind):
    X, y = _digits_features(1797, d=64)
    excess, C = _worst_excess(X, _targets(y, kind), c_grid()[::4])
    assert excess <= 1e-4, f"at C={C:g} our objective is {excess:.2e} above scikit-learn's"
