"""Confidence intervals (issue 12, point 2): Clopper-Pearson equals scipy.stats.beta quantiles
computed here; the bootstrap is seeded and covers the value; each metric declares its kind."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta

from bench import metrics
from bench.errors import BenchError
from bench.intervals import bootstrap_interval, clopper_pearson


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (37, 50), (4567, 10000), (1, 1)])
def test_clopper_pearson_is_the_beta_quantiles(k, n):
    got = clopper_pearson(k, n)  # default level 99.5%
    low = beta.ppf(0.0025, k, n - k + 1) if k > 0 else 0.0
    high = beta.ppf(0.9975, k + 1, n - k) if k < n else 1.0
    assert (got.low, got.high) == pytest.approx((100 * low, 100 * high), abs=1e-9)
    assert got.to_dict() == {"level": 0.995, "low": got.low, "high": got.high,
                             "method": "clopper-pearson"}  # fmt: skip
    assert got.within(100 * k / n)
    wider = clopper_pearson(k, n, level=0.999)
    assert wider.low <= got.low and wider.high >= got.high


def test_clopper_pearson_refuses_bad_counts():
    with pytest.raises(BenchError, match="k=11, n=10"):
        clopper_pearson(11, 10)
    with pytest.raises(BenchError, match="between 0 and 1"):
        clopper_pearson(1, 10, level=99.5)


def test_bootstrap_is_seeded_and_is_the_percentile_interval():
    x = np.random.default_rng(3).normal(50, 10, 200)
    stat = lambda idx: float(x[idx].mean())  # noqa: E731
    a = bootstrap_interval(stat, len(x), resamples=300, seed=7)
    assert a == bootstrap_interval(stat, len(x), resamples=300, seed=7)
    assert a != bootstrap_interval(stat, len(x), resamples=300, seed=8)
    rng = np.random.default_rng(7)  # the same resamples, by hand
    means = [x[rng.integers(0, 200, 200)].mean() for _ in range(300)]
    assert (a.low, a.high) == pytest.approx(tuple(np.quantile(means, [0.0025, 0.9975])))
    assert a.to_dict()["resamples"] == 300 and a.to_dict()["seed"] == 7
    assert a.within(x.mean())


def test_every_metric_declares_an_interval_kind():
    kinds = {name: metrics.get_metric(name).interval for name in metrics.names()}
    assert set(kinds.values()) <= set(metrics.INTERVAL_KINDS)
    assert kinds["accuracy"] == kinds["pm0_pm10"] == "clopper-pearson"
    for name in ("mean_per_class_accuracy", "map_11point", "roc_auc", "mean_top1_top5",
                 "retrieval_recall"):  # fmt: skip
        assert kinds[name] == "bootstrap", name


def test_accuracy_interval_counts_the_right_answers():
    scores = np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3, 0, 1]]
    labels = np.array([0, 1, 2, 3, 0, 1, 2, 0, 1, 2])  # 7 of 10 right
    n, ci = metrics.interval("accuracy", scores, labels)
    assert n == 10 and ci.method == "clopper-pearson"
    assert ci.low == pytest.approx(100 * beta.ppf(0.0025, 7, 4))
    assert ci.high == pytest.approx(100 * beta.ppf(0.9975, 8, 3))


@pytest.mark.parametrize("name", ["mean_per_class_accuracy", "mean_top1_top5", "roc_auc"])
def test_fast_bootstrap_statistics_equal_the_metric_on_resampled_rows(name):
    rng = np.random.default_rng(0)
    c = 2 if name == "roc_auc" else 8
    scores, labels = rng.normal(size=(60, c)), rng.integers(0, c, 60)
    m = metrics.get_metric(name)
    n, stat, _ = m.statistic(scores, labels, {})
    for _ in range(5):
        idx = rng.integers(0, n, n)
        if name == "roc_auc" and len(set(labels[idx])) < 2:
            continue
        assert stat(idx) == pytest.approx(metrics.compute(name, scores[idx], labels[idx]))
    _, ci = metrics.interval(name, scores, labels, resamples=200)
    assert ci.method == "bootstrap" and ci.within(metrics.compute(name, scores, labels))
