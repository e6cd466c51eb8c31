"""bench.metrics against scikit-learn, or against cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    roc_auc_score,
    top_k_accuracy_score,
)

from bench import metrics
from bench.errors import BenchError, UnknownNameError


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _multiclass(rng: np.random.Generator, n: int = 500, c: int = 12):
    labels = rng.integers(0, c, n)
    scores = rng.normal(size=(n, c))
    scores[np.arange(n), labels] += rng.uniform(0, 2, n)  # better than chance, not perfect
    return scores, labels


def test_every_task_files_metric_is_registered_and_every_metric_is_used():
    from bench.tasks import list_tasks

    used = {t.metric for t in list_tasks()}
    assert used == set(metrics.names())  # no dead metric, no task with an unknown one


def test_accuracy_matches_sklearn(rng):
    scores, labels = _multiclass(rng)
    expected = 100 * accuracy_score(labels, scores.argmax(1))
    assert metrics.compute("accuracy", scores, labels) == pytest.approx(expected)
    assert 100 / 12 < expected < 95  # the case is neither trivial nor chance
    # torch tensors are accepted as well
    got = metrics.compute("accuracy", torch.from_numpy(scores), torch.from_numpy(labels))
    assert got == pytest.approx(expected)


def test_mean_per_class_accuracy_matches_balanced_accuracy(rng):
    scores, labels = _multiclass(rng)
    labels[labels == 3] = 4  # unbalanced classes, and a class that never occurs
    with pytest.warns(UserWarning, match="not in y_true"):  # class 3 predicted, never true
        expected = 100 * balanced_accuracy_score(labels, scores.argmax(1))
    got = metrics.compute("mean_per_class_accuracy", scores, labels)
    assert got == pytest.approx(expected)
    assert got != pytest.approx(metrics.compute("accuracy", scores, labels))


@pytest.mark.parametrize("k", [1, 2, 5])
def test_topk_accuracy_matches_sklearn(rng, k):
    scores, labels = _multiclass(rng)
    expected = 100 * top_k_accuracy_score(labels, scores, k=k, labels=np.arange(12))
    assert metrics.topk_accuracy(scores, labels, k) == pytest.approx(expected)


def test_topk_accuracy_edge_cases():
    scores = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05]])
    assert metrics.topk_accuracy(scores, [2, 2], 1) == 0
    assert metrics.topk_accuracy(scores, [2, 2], 2) == 50
    assert metrics.topk_accuracy(scores, [2, 2], 3) == 100
    assert metrics.topk_accuracy(scores, [-1, 7], 3) == 0  # unseen classes are wrong
    ties = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])  # ties: the lower column ranks first
    assert metrics.topk_accuracy(ties, [1, 0], 1) == 50
    assert metrics.topk_accuracy(ties, [1, 0], 1) == metrics.compute("accuracy", ties, [1, 0])
    assert metrics.topk_accuracy(ties, [1, 2], 2) == 50
    with pytest.raises(BenchError, match="k must be"):
        metrics.topk_accuracy(scores, [0, 1], 0)


def test_mean_top1_top5(rng):
    scores, labels = _multiclass(rng)
    top1 = 100 * top_k_accuracy_score(labels, scores, k=1, labels=np.arange(12))
    top5 = 100 * top_k_accuracy_score(labels, scores, k=5, labels=np.arange(12))
    details = metrics.compute_details("mean_top1_top5", scores, labels)
    assert details["mean_top1_top5"] == pytest.approx((top1 + top5) / 2)
    assert details["top1"] == pytest.approx(top1) and details["top5"] == pytest.approx(top5)
    assert metrics.compute("mean_top1_top5", scores, labels) == details["mean_top1_top5"]


def test_roc_auc_matches_sklearn_with_ties(rng):
    labels = rng.integers(0, 2, 400)
    pos = np.round(rng.normal(size=400) + labels, 1)  # rounding makes ties
    expected = 100 * roc_auc_score(labels, pos)
    assert metrics.compute("roc_auc", pos, labels) == pytest.approx(expected)
    two_col = np.stack([-pos, pos], 1)  # [n, 2]: column 1 is the positive class
    assert metrics.compute("roc_auc", two_col, labels) == pytest.approx(expected)
    logits = rng.normal(size=(400, 2)) + np.stack([np.zeros(400), labels], 1)  # two free columns
    softmax1 = np.exp(logits[:, 1]) / np.exp(logits).sum(1)
    got = metrics.compute("roc_auc", logits, labels)
    assert got == pytest.approx(100 * roc_auc_score(labels, softmax1))
    assert got != pytest.approx(100 * roc_auc_score(labels, logits[:, 1]))
    with pytest.raises(BenchError, match="both classes"):
        metrics.compute("roc_auc", pos, np.ones(400, int))


def test_11point_map_hand_computed_case():
    # class 0: scores rank the 4 samples as s2 (pos), s0 (neg), s3 (pos), s1 (neg).
    #   precision at each rank: 1, 1/2, 2/3, 2/4; recall: .5, .5, 1, 1
    #   t = 0..0.5 (6 thresholds): max precision with recall >= t is 1
    #   t = 0.6..1 (5 thresholds): max precision with recall >= t is 2/3
    #   AP = (6 * 1 + 5 * 2/3) / 11 = 28/33
    # class 1: the only positive ranked first: AP = 1
    # class 2: no positive: skipped.  mAP = (28/33 + 1) / 2
    scores = np.array([[0.8, 0.9, 0.1], [0.1, 0.2, 0.3], [0.9, 0.1, 0.2], [0.5, 0.3, 0.4]])
    labels = np.array([[0, 1, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0]])
    expected = 100 * (28 / 33 + 1) / 2
    assert metrics.compute("map_11point", scores, labels) == pytest.approx(expected)
    # masking out (e.g. VOC's difficult) the negative s0 for class 0 makes its AP 1
    mask = np.ones_like(labels, bool)
    mask[0, 0] = False
    assert metrics.compute("map_11point", scores, labels, mask=mask) == pytest.approx(100)


def test_11point_ap_against_a_direct_definition(rng):
    # a reference written from the definition (as the VOC07 devkit's python port), on random data
    for _ in range(5):
        s, pos = rng.normal(size=60), rng.random(60) < 0.3
        order = np.argsort(-s)
        hits = pos[order]
        prec = np.cumsum(hits) / np.arange(1, 61)
        rec = np.cumsum(hits) / hits.sum()
        ref = np.mean(
            [
                max([p for p, r in zip(prec, rec, strict=True) if r >= t], default=0)
                for t in np.arange(0.0, 1.1, 0.1)  # the VOC devkit's thresholds
            ]
        )
        got = metrics.average_precision_11point(s, pos)
        assert got == pytest.approx(ref, abs=1e-12)
        assert 0 < got <= 1


def test_pm_k_hand_computed_case():
    # frames 0..7; anchors 0 and 4 with neighbours; valid classes per frame (multi-label)
    scores = np.eye(3)[[0, 1, 1, 2, 2, 2, 0, 1]]  # top-1 class per frame
    valid = [[0], [1, 2], [2], [2], [2], [0, 2], [1], [1]]
    # correct: 1 1 0 1 1 1 0 1
    pmsets = {0: [1, 2], 4: [3, 5], 7: [6]}
    details = metrics.compute_details("pm0_pm10", scores, valid, pmsets=pmsets)
    assert details["pm0"] == pytest.approx(100.0)  # anchors 0, 4, 7 all correct
    assert details["pm10"] == pytest.approx(100 / 3)  # only anchor 4's set is all correct
    assert metrics.compute("pm0_pm10", scores, valid, pmsets=pmsets) == details["pm0"]
    assert metrics.compute("pm0_pm10", scores, valid, pmsets=pmsets, which="pm10") == pytest.approx(
        100 / 3
    )
    # the same valid sets as a multi-hot matrix
    multi_hot = np.zeros((8, 3), int)
    for i, v in enumerate(valid):
        multi_hot[i, v] = 1
    from_matrix = metrics.pm_k(metrics.valid_class_correct(scores, multi_hot), pmsets)
    assert from_matrix == {"pm0": details["pm0"], "pm10": details["pm10"]}


def test_pm_k_on_random_data_against_a_loop(rng):
    n = 200
    correct = rng.random(n) < 0.8
    pmsets = [(a, rng.choice(n, 5, replace=False).tolist()) for a in range(0, n, 10)]
    out = metrics.pm_k(correct, pmsets)
    anchors = [a for a, _ in pmsets]
    assert out["pm0"] == pytest.approx(100 * correct[anchors].mean())
    whole = [correct[a] and all(correct[i] for i in nb) for a, nb in pmsets]
    assert out["pm10"] == pytest.approx(100 * np.mean(whole))
    assert out["pm10"] <= out["pm0"]


def test_unknown_metric_names_close_matches():
    with pytest.raises(UnknownNameError, match="accuracy") as err:
        metrics.compute("acuracy", np.zeros((1, 2)), [0])
    assert "unknown metric 'acuracy'" in str(err.value)


def test_bad_shapes_raise_bench_errors():
    with pytest.raises(BenchError, match="scores must be"):
        metrics.compute("accuracy", np.zeros(3), [0, 1, 2])
    with pytest.raises(BenchError, match="labels must be"):
        metrics.compute("accuracy", np.zeros((3, 2)), [0, 1])
    with pytest.raises(BenchError, match="same"):
        metrics.compute("map_11point", np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(BenchError, match="anchor"):
        metrics.compute("pm0_pm10", np.zeros((3, 2)), [0, 1, 1])


def test_score_gives_the_metric_with_top1_top5():
    rng = np.random.default_rng(0)
    scores = torch.as_tensor(rng.normal(size=(200, 10)), dtype=torch.float32)
    labels = torch.as_tensor(rng.integers(0, 10, 200))
    s = metrics.score("accuracy", scores, labels)
    order = np.argsort(-scores.numpy(), axis=1)
    assert s.parts["top1"] == pytest.approx(100 * np.mean(order[:, 0] == labels.numpy()))
    assert s.parts["top5"] == pytest.approx(
        100 * np.mean((order[:, :5] == labels.numpy()[:, None]).any(1))
    )
    assert s.value == pytest.approx(s.parts["top1"])
    per_class = metrics.score("mean_per_class_accuracy", scores, labels)
    want = np.mean([np.mean(order[labels.numpy() == c, 0] == c) for c in range(10)]) * 100
    assert per_class.value == pytest.approx(want)
    # few classes: no top-5; multi-label: neither
    assert metrics.score("accuracy", scores[:, :4], labels % 4).parts.get("top5") is None
    multi = torch.as_tensor(rng.integers(0, 2, (200, 10)))
    m = metrics.score("map_11point", scores, multi)
    assert "top1" not in m.parts and "top5" not in m.parts and 0 <= m.value <= 100


def test_voc_difficult_entries_are_ignored_as_the_devkit_does():
    """One class, four images ranked 0.9 > 0.8 > 0.7 > 0.6: positive, difficult-only,
    negative, positive. By hand: counting the difficult-only image as a negative gives
    precisions 1, 1/2, 1/3, 2/4 at recalls 1/2, 1/2, 1/2, 1, so 11-point AP = (6 * 1 +
    5 * 0.5) / 11 = 77.27%; the devkit (gt = 0: neither tp nor fp) drops it: precisions
    1, 1/2, 2/3 at recalls 1/2, 1/2, 1, so AP = (6 * 1 + 5 * 2/3) / 11 = 84.85%."""
    scores = np.array([[0.9], [0.8], [0.7], [0.6]])
    labels = np.array([[1], [0], [0], [1]])
    difficult = np.array([[False], [True], [False], [False]])
    assert "difficult" in metrics.get_metric("map_11point").needs
    counted = metrics.score("map_11point", scores, labels).value
    ignored = metrics.score("map_11point", scores, labels, {"difficult": difficult}).value
    assert counted == pytest.approx(100 * 8.5 / 11)
    assert ignored == pytest.approx(100 * (6 + 5 * 2 / 3) / 11)


def test_voc_loader_difficult_flags_reach_the_metric_through_side_data(tmp_path):
    from _datasets_fixtures import build_voc2007
    from eval_fixtures import tiny_eval_model

    from bench.features import extract
    from bench.settings import Settings
    from bench.tasks import get_task

    build_voc2007(tmp_path / "voc2007")
    task = get_task("voc2007")
    settings = Settings.build(device="cpu", workers=0, data_root=tmp_path, allow_partial=True,
                              progress=False)  # fmt: skip
    fs = extract(tiny_eval_model(), task, "val", settings)
    person = [n[0] if not isinstance(n, str) else n for n in task.classnames].index("person")
    assert fs.side["difficult"].shape == (2, 20) and bool(fs.side["difficult"][1, person])
    assert int(fs.side["difficult"].sum()) == 1


def _fixture(kind: str, n: int = 6, c: int = 3):
    """Perfect scores and matching labels of a metric's label kind (n samples)."""
    y = np.arange(n) % c
    scores = np.where(np.eye(c)[y] > 0, 5.0, -5.0)
    if kind == "class":
        return scores, y, {}
    if kind == "binary":
        return scores[:, :2] * 0 + np.stack([-(y % 2), y % 2], 1), y % 2, {}
    if kind == "multi_hot":
        return scores, np.eye(c)[y], {}
    if kind == "frames":
        return scores, y, {"anchors": list(range(n)), "pmk_sets": {}}
    if kind == "retrieval":  # n images, 2 captions each: similarities [n, 2n], caption owners
        owner = np.repeat(np.arange(n), 2)
        return np.where(np.arange(n)[:, None] == owner[None, :], 5.0, -5.0), owner, {}
    raise AssertionError(f"no fixture for label kind {kind!r}: add one")


@pytest.mark.parametrize("name", metrics.names())
def test_nan_scores_are_never_right(name):
    m = metrics.get_metric(name)
    scores, labels, side = _fixture(m.labels)
    assert metrics.score(name, scores, labels, side).value == pytest.approx(100.0)
    nan = np.full_like(scores, np.nan)
    worst = metrics.score(name, nan, labels, side).value
    if m.labels == "multi_hot":
        # per class, 2 positives ranked below 4 negatives: precision 1/5 at recall 1/2 and
        # 2/6 at recall 1, so the max precision at recall >= t is 1/3 for every t
        assert worst == pytest.approx(100 / 3)
    else:
        assert worst == 0.0
    # one NaN among a sample's scores makes that sample wrong (1 of 6) in the class metrics
    one = scores.copy()
    one[0, -1] = np.nan
    if m.labels in ("class", "frames"):
        expected = 100 * 5 / 6 if name != "mean_per_class_accuracy" else 100 * (1 / 2 + 2) / 3
        if name == "mean_top1_top5":
            expected = 100 * 5 / 6
        assert metrics.score(name, one, labels, side).value == pytest.approx(expected)
