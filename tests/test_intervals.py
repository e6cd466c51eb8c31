"""bench.intervals: exact binomial intervals and the seeded bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bench.errors import BenchError
from bench.intervals import Interval, bootstrap_interval, clopper_pearson, within


@pytest.mark.parametrize(("k", "n"), [(1, 10), (87, 100), (4381, 5000), (3, 7)])
def test_clopper_pearson_is_the_beta_quantiles(k, n):
    a = 0.005  # 99.5%: the bounds are the a/2 and 1 - a/2 quantiles of the beta distributions
    low, high = clopper_pearson(k, n)
    assert low == pytest.approx(100 * stats.beta(k, n - k + 1).ppf(a / 2), rel=1e-12)
    assert high == pytest.approx(100 * stats.beta(k + 1, n - k).ppf(1 - a / 2), rel=1e-12)
    assert low < 100 * k / n < high


def test_clopper_pearson_edges_in_closed_form():
    # k = 0: low is 0, high solves (1 - p)^n = a/2; k = n: high is 100, low solves p^n = a/2
    n, a = 20, 0.005
    assert clopper_pearson(0, n) == pytest.approx((0.0, 100 * (1 - (a / 2) ** (1 / n))))
    assert clopper_pearson(n, n) == pytest.approx((100 * (a / 2) ** (1 / n), 100.0))
    low95, high95 = clopper_pearson(0, n, level=0.95)
    assert high95 == pytest.approx(100 * (1 - 0.025 ** (1 / n))) and low95 == 0.0


@pytest.mark.parametrize(
    ("k", "n", "level"),
    [(5, 3, 0.995), (-1, 3, 0.995), (1, 0, 0.995), (1.5, 3, 0.995), (1, 3, 1.0)],
)
def test_clopper_pearson_refuses_bad_counts(k, n, level):
    with pytest.raises(BenchError):
        clopper_pearson(k, n, level=level)


def _accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return 100 * float((scores.argmax(1) == labels).mean())


def _mean_per_class(scores: np.ndarray, labels: np.ndarray) -> float:
    pred = scores.argmax(1)
    return 100 * float(np.mean([(pred[labels == c] == c).mean() for c in np.unique(labels)]))


def _simulated(n: int, p_right: float, seed: int, classes: int = 4):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    right = rng.random(n) < p_right
    pred = np.where(right, labels, (labels + 1) % classes)
    return np.eye(classes)[pred], labels


def test_bootstrap_is_reproducible_for_a_seed():
    scores, labels = _simulated(300, 0.8, seed=0)
    a = bootstrap_interval(_accuracy, scores, labels, resamples=200, seed=3)
    assert a == bootstrap_interval(_accuracy, scores, labels, resamples=200, seed=3)
    assert a != bootstrap_interval(_accuracy, scores, labels, resamples=200, seed=4)
    assert a[2] == 200


def test_bootstrap_covers_the_true_value_and_agrees_with_the_exact_interval():
    covered = 0
    for seed in range(20):
        scores, labels = _simulated(400, 0.7, seed=seed)
        low, high, _ = bootstrap_interval(_accuracy, scores, labels, level=0.95, resamples=300)
        covered += low <= 70.0 <= high
        k = int((scores.argmax(1) == labels).sum())
        cp_low, cp_high = clopper_pearson(k, 400, level=0.95)
        assert abs(low - cp_low) < 1.5 and abs(high - cp_high) < 1.5  # points
    assert covered >= 16  # 95% coverage: 19 of 20 expected, 16 is far in the tail


def test_bootstrap_of_mean_per_class_accuracy():
    scores, labels = _simulated(500, 0.75, seed=1)
    value = _mean_per_class(scores, labels)
    low, high, n = bootstrap_interval(_mean_per_class, scores, labels, resamples=300)
    assert low < value < high and 65 < low and high < 85 and high - low < 15
    assert n == 300


def test_bootstrap_refuses_bad_input():
    scores, labels = _simulated(10, 0.5, seed=0)
    with pytest.raises(BenchError, match="resamples"):
        bootstrap_interval(_accuracy, scores, labels, resamples=0)
    with pytest.raises(BenchError, match="one label per item"):
        bootstrap_interval(_accuracy, scores, labels[:5])
    with pytest.raises(BenchError, match="NaN"):
        bootstrap_interval(lambda s, y: float("nan"), scores, labels, resamples=5)


def test_interval_dict_and_within():
    exact = Interval(0.995, 80.0, 90.0, "clopper-pearson")
    assert exact.to_dict() == {
        "level": 0.995,
        "low": 80.0,
        "high": 90.0,
        "method": "clopper-pearson",
    }
    boot = Interval(0.995, 1.0, 2.0, "bootstrap", resamples=1000)
    assert boot.to_dict()["resamples"] == 1000 and boot.to_dict()["method"] == "bootstrap"
    assert within(80.0, exact) and within(90.0, exact) and within(85.5, exact)
    assert not within(79.99, exact) and not within(float("nan"), exact)
    with pytest.raises(BenchError, match="method"):
        Interval(0.995, 1.0, 2.0, "wald")
