"""Each metric's confidence interval (issue 12, point 2): its kind is declared once in
bench.metrics; Clopper-Pearson from the count of right answers equals scipy.stats.beta
quantiles computed here; the fast bootstrap statistics equal the metric on resampled rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import beta

from bench import metrics


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
    n, stat = m.statistic(scores, labels, {})
    for _ in range(5):
        idx = rng.integers(0, n, n)
        if name == "roc_auc" and len(set(labels[idx])) < 2:
            continue
        assert stat(idx) == pytest.approx(metrics.compute(name, scores[idx], labels[idx]))
    _, ci = metrics.interval(name, scores, labels, resamples=200)
    assert ci.method == "bootstrap" and ci.resamples == 200
    assert ci.low <= metrics.compute(name, scores, labels) <= ci.high


def test_stl10_folds_bootstrap_the_fold_mean():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 40)
    folds = [rng.normal(size=(40, 3)) for _ in range(3)]
    mean = np.mean([metrics.compute("accuracy", f, labels) for f in folds])
    n, ci = metrics.interval("accuracy", folds, labels, resamples=100)
    assert n == 40 and ci.method == "bootstrap" and ci.low <= mean <= ci.high
