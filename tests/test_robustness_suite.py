"""The robustness suite's scoring: pooling ImageNet scores into each shift's classes, the
class-subsampled ImageNet accuracy, pm-k for the video shifts, and the hook end to end on
synthetic features (checked against independent numpy computations)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from bench.errors import BenchError
from bench.features import SplitFeatures
from bench.settings import Settings
from bench.suites import robustness as rs
from bench.suites.context import RunSummary
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


def _features(n: int, labels_high: int, dim: int, seed: int) -> SplitFeatures:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g)
    return SplitFeatures(x, x.clone(), torch.randint(0, labels_high, (n,), generator=g))


class _Ctx:
    """A stand-in for RunContext serving fixed features; records what is written and failed."""

    def __init__(self, split_data, settings=None):
        self.split_data, self.written, self.summary = split_data, [], RunSummary()
        self.settings = settings or Settings.build(device="cpu")

    def done(self, task, suite, shots=None, seed=None):
        return None

    def features(self, task, split, fold=None):
        if (task.name, split) not in self.split_data:
            raise BenchError(f"no data for {task.name}/{split}")
        return self.split_data[(task.name, split)]

    def check(self, x, what, task, split):
        pass

    def new_result(self, task, suite, **fields):
        return {"task": task.name, "suite": suite, **fields}

    def write(self, result):
        self.written.append(result)


def test_run_robustness_end_to_end_on_synthetic_features(monkeypatch):
    dim = 8
    weights = torch.randn(dim, 1000, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(rs, "zero_shot_head", lambda ctx, imagenet: lambda f: f.embedding @ weights)
    split_data = {
        ("imagenet", "test"): _features(4000, 1000, dim, 1),
        ("imagenet_r", "test"): _features(300, 200, dim, 2),
        ("objectnet", "test"): _features(300, 113, dim, 3),
    }
    probe_w = torch.randn(dim, 1000, generator=torch.Generator().manual_seed(4)).numpy()
    probe = SimpleNamespace(
        classes_=np.arange(1000), decision_function=lambda x: x.numpy() @ probe_w
    )
    monkeypatch.setattr(rs, "adapt_head", lambda ctx, imagenet: rs.probe_head(probe, 1000))
    ctx = _Ctx(split_data)
    tasks = [get_task(n) for n in ("imagenet", "imagenet_r", "objectnet", "imagenet_a")]
    rs.run_robustness(ctx, tasks, rs.SUITES.get("robustness"))
    assert [(r["task"], r["suite"]) for r in ctx.written] == [
        ("imagenet", "robustness"),
        ("imagenet_r", "robustness"),
        ("objectnet", "robustness"),
        ("imagenet", "robustness-adapt"),
        ("imagenet_r", "robustness-adapt"),
        ("objectnet", "robustness-adapt"),
    ]
    # a shift without data fails alone, once per head, and the others are written
    assert [(s, t) for s, t, _ in ctx.summary.failed] == [
        ("robustness", "imagenet_a"),
        ("robustness-adapt", "imagenet_a"),
    ]
    assert "no data for imagenet_a/test" in ctx.summary.failed[0][2]
    val = split_data[("imagenet", "test")]
    for r in ctx.written:
        w = weights.numpy() if r["suite"] == "robustness" else probe_w
        expected_value, expected_x = _independent(r["task"], split_data, val, w)
        assert r["value"] == pytest.approx(expected_value, abs=1e-9), r
        assert r["metrics"]["imagenet_subsampled"] == pytest.approx(expected_x, abs=1e-9)
        assert r["split_sizes"]["test"] == len(split_data[(r["task"], "test")].labels)


def test_adapt_head_is_fitted_on_imagenet_train_plus_val(monkeypatch):
    """The ImageNet probe: C searched on val, the final fit on train + val (sizes seen by fit)."""
    from bench.probe import LinearProbe

    imagenet = SimpleNamespace(name="imagenet", metric="accuracy", num_classes=5)
    split_data = {
        ("imagenet", "train"): _features(60, 5, 6, 1),
        ("imagenet", "val"): _features(25, 5, 6, 2),
    }
    for fs in split_data.values():
        fs.labels[:5] = torch.arange(5)  # every class present in each split
    seen = []
    real_fit = LinearProbe.fit

    def fit(self, x, y, *args, **kwargs):
        seen.append(len(y))
        return real_fit(self, x, y, *args, **kwargs)

    monkeypatch.setattr(LinearProbe, "fit", fit)
    rs.adapt_head(_Ctx(split_data), imagenet)
    assert seen[-1] == 60 + 25


def test_robustness_zero_shot_head_uses_the_runs_precision(monkeypatch):
    """The ImageNet classifier is the run context's, built at the run's precision."""
    from bench.suites import context

    asked = []

    def fake_build(model, classnames, templates, *, precision="fp32", **kw):
        asked.append(precision)
        return torch.nn.functional.normalize(torch.ones(4, len(classnames)), dim=0)

    monkeypatch.setattr(context, "build_classifier", fake_build)
    spec = context.ModelSpec("m", "0" * 64, lambda: SimpleNamespace(device=torch.device("cpu")))
    settings = Settings(device=torch.device("cpu"), precision="bf16")
    ctx = context.RunContext(spec=spec, settings=settings, out=None)
    imagenet = get_task("imagenet")
    head = rs.zero_shot_head(ctx, imagenet)
    assert asked == ["bf16"]
    assert head(SplitFeatures(torch.ones(2, 4), torch.ones(2, 4), torch.zeros(2))).shape == (
        2,
        1000,
    )
    rs.zero_shot_head(ctx, imagenet)
    assert asked == ["bf16"]  # memoised per task


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


def test_probe_head_needs_all_imagenet_classes():
    probe = SimpleNamespace(classes_=np.arange(999), decision_function=None)
    with pytest.raises(BenchError, match="999 classes"):
        rs.probe_head(probe, 1000)


def test_the_shifts_are_one_list():
    """``bench.robustness.SHIFTS`` is the list; the task files' ``shifts`` tag agrees with it and
    the robustness suite runs exactly ImageNet and those."""
    from bench.robustness import SHIFTS
    from bench.tasks import list_tasks

    assert sorted(t.name for t in list_tasks("shifts")) == sorted(SHIFTS)
    suite = rs.SUITES.get("robustness")
    accepted = sorted(t.name for t in list_tasks() if suite.accepts(t))
    assert accepted == sorted(["imagenet", *SHIFTS])
