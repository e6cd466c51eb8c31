"""The robustness suite's scoring: pooling ImageNet scores into each shift's classes, the
class-subsampled ImageNet accuracy, pm-k for the video shifts, and the hook end to end on
synthetic features (checked against independent numpy computations)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from bench import robustness_suite as rs
from bench.errors import BenchError
from bench.tasks import get_task


def test_pool_scores_max_pools_and_gives_empty_classes_minus_inf():
    scores = torch.tensor([[1.0, 5.0, 2.0, 0.0], [3.0, 1.0, 4.0, 9.0]])
    pooled = rs.pool_scores(scores, [(0, 2), (1,), ()])
    assert pooled[:, :2].tolist() == [[2.0, 5.0], [4.0, 1.0]]
    assert torch.isinf(pooled[:, 2]).all() and (pooled[:, 2] < 0).all()
    assert rs.pool_scores(scores, None) is scores


def test_subsampled_top1_restrict_and_pool_follow_the_testbed():
    # 6 ImageNet classes; the shift has classes A = {0, 1} and B = {2}; classes 3-5 are not in it.
    scores = torch.tensor(
        [
            [5.0, 9.0, 0.0, 0.0, 0.0, 0.0],  # label 0: restrict -> 1 (wrong), pool -> A (right)
            [0.0, 1.0, 3.0, 0.0, 0.0, 0.0],  # label 1: restrict -> 2 (wrong), pool -> B (wrong)
            [0.0, 0.0, 3.0, 9.0, 0.0, 0.0],  # label 2: 3 is outside the shift: right in both
            [9.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # label 4: not a shift class, left out
        ]
    )
    labels = torch.tensor([0, 1, 2, 4])
    pool = [(0, 1), (2,)]
    assert rs.subsampled_top1(scores, labels, pool, "restrict") == pytest.approx(100 / 3)
    assert rs.subsampled_top1(scores, labels, pool, "pool") == pytest.approx(200 / 3)
    # no pool (ImageNetV2, -Sketch): plain top-1 over all classes; the arg-maxes are 1, 2, 3, 0
    assert rs.subsampled_top1(scores, labels, None, "restrict") == 0.0
    assert rs.subsampled_top1(scores, torch.tensor([1, 2, 3, 5]), None, "pool") == 75.0
    with pytest.raises(BenchError, match="no ImageNet val image"):
        rs.subsampled_top1(scores, torch.tensor([5, 5, 5, 5]), pool, "restrict")


def test_pm_metric_uses_the_datasets_anchor_sets():
    task = get_task("imagenet_vid")
    # 5 frames: anchors 0 and 3; 0's neighbours 1, 2; 3's neighbour 4.
    scores = torch.zeros(5, 30)
    for i, c in enumerate([1, 1, 2, 7, 7]):
        scores[i, c] = 1.0
    labels = torch.zeros(5, 30)
    labels[:, 1] = 1  # frames 0-2 are class 1 (frame 2 predicted 2: wrong)
    labels[3:, 1] = 0
    labels[3:, 7] = 1
    dataset = SimpleNamespace(anchors=[0, 3], pmk_sets={0: [1, 2], 3: [4]})
    value, parts = rs.score_task(task, scores, labels, dataset)
    assert value == parts["pm0"] == 100.0  # both anchors right
    assert parts["pm10"] == 50.0  # anchor 0 has a wrong neighbour
    no_pmk = SimpleNamespace(anchors=[0, 3], pmk_sets={}, pmk_available=False)
    value, parts = rs.score_task(get_task("ytbb"), scores[:, :24], labels[:, :24], no_pmk)
    assert value == 100.0 and "pm10" not in parts
    with pytest.raises(BenchError, match="anchor"):
        rs.score_task(task, scores, labels, None)


def _features(n: int, labels_high: int, dim: int, seed: int) -> SimpleNamespace:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    return SimpleNamespace(
        embedding=x, probe=x, labels=torch.randint(0, labels_high, (n,), generator=g), side={}
    )


def test_run_robustness_end_to_end_on_synthetic_features(monkeypatch):
    dim = 8
    weights = torch.randn(dim, 1000, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(rs, "zero_shot_head", lambda model, imagenet: lambda f: f @ weights)
    split_data = {
        ("imagenet", "test"): _features(4000, 1000, dim, 1),
        ("imagenet_r", "test"): _features(300, 200, dim, 2),
        ("objectnet", "test"): _features(300, 113, dim, 3),
    }
    probe_w = torch.randn(dim, 1000, generator=torch.Generator().manual_seed(4)).numpy()
    probe = SimpleNamespace(
        classes_=np.arange(1000), decision_function=lambda x: x.numpy() @ probe_w
    )
    out = rs.run_robustness(
        None,
        lambda task, split: split_data[(task.name, split)],
        tasks=["imagenet", "imagenet_r", "objectnet"],
        probe=probe,
        progress=False,
    )
    assert [(o.task, o.head, o.suite) for o in out] == [
        ("imagenet", "zero-shot", "robustness"),
        ("imagenet_r", "zero-shot", "robustness"),
        ("objectnet", "zero-shot", "robustness"),
        ("imagenet", "adapt-imagenet", "robustness-adapt"),
        ("imagenet_r", "adapt-imagenet", "robustness-adapt"),
        ("objectnet", "adapt-imagenet", "robustness-adapt"),
    ]
    val = split_data[("imagenet", "test")]
    for o in out:
        w = weights.numpy() if o.head == "zero-shot" else probe_w
        expected_value, expected_x = _independent(o.task, split_data, val, w)
        assert o.value == pytest.approx(expected_value, abs=1e-9), (o.task, o.head)
        assert o.metrics["imagenet_subsampled"] == pytest.approx(expected_x, abs=1e-9)
        assert o.n == len(split_data[(o.task, "test")].labels)


def _independent(task_name, split_data, val, w):
    """Shift accuracy and class-subsampled val accuracy, computed with plain numpy."""
    val_scores, val_labels = val.embedding.numpy() @ w, val.labels.numpy()
    if task_name == "imagenet":
        acc = float(np.mean(val_scores.argmax(1) == val_labels) * 100)
        return acc, acc
    pool = get_task(task_name).imagenet_pool
    test = split_data[(task_name, "test")]
    s = test.embedding.numpy() @ w
    pooled = np.stack([s[:, list(p)].max(1) for p in pool], axis=1)
    value = float(np.mean(pooled.argmax(1) == test.labels.numpy()) * 100)
    union = sorted({i for p in pool for i in p})
    keep = np.isin(val_labels, union)
    restricted = val_scores[keep][:, union]
    x = float(np.mean(np.array(union)[restricted.argmax(1)] == val_labels[keep]) * 100)
    return value, x


def test_run_robustness_rejects_tasks_outside_the_suite():
    with pytest.raises(BenchError, match="cifar10.*valid choices: imagenet"):
        rs.run_robustness(None, lambda t, s: None, tasks=["cifar10"])


def test_probe_head_needs_all_imagenet_classes():
    probe = SimpleNamespace(classes_=np.arange(999), decision_function=None)
    with pytest.raises(BenchError, match="999 classes"):
        rs.probe_head(probe, 1000)
