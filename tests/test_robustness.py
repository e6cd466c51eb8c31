"""Effective robustness on the shipped testbed data, checked against an independent computation."""

from __future__ import annotations

import csv
import hashlib
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from bench import robustness
from bench.errors import BenchError, UnknownNameError

# The testbed's plotting scripts (plotting/paper_*.py): x column, y column, threshold on x.
RULES = {
    "imagenetv2": ("val", "imagenetv2-matched-frequency-format-val", 55),
    "imagenet_r": ("val-on-imagenet-r-classes", "imagenet-r", 75),
    "imagenet_sketch": ("val", "imagenet-sketch", 55),
    "objectnet": ("val-on-objectnet-classes", "objectnet-1.0-beta", 55),
    "imagenet_a": ("val-on-imagenet-a-classes", "imagenet-a", 75),
    "imagenet_vid": ("val-on-vid-robust-classes", "imagenet-vid-robust_pm0", 92),
    "ytbb": ("val-on-ytbb-robust-classes", "ytbb-robust_pm0", 95),
}
EXCLUDED = {"imagenet_a": {"resnet50"}}


def _rows() -> tuple[list[dict[str, str]], set[str]]:
    pkg = resources.files("bench.data.robustness")
    with pkg.joinpath("robustness_top1s.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with pkg.joinpath("model_types.csv").open(encoding="utf-8") as f:
        standard = {r["model"] for r in csv.DictReader(f) if r["default_line_fit_candidate"] == "1"}
    return rows, standard


def _logit(p_percent: np.ndarray) -> np.ndarray:
    p = np.asarray(p_percent, dtype=float) / 100
    return np.log(p) - np.log1p(-p)


def _independent_points(shift: str) -> tuple[np.ndarray, np.ndarray]:
    x_col, y_col, threshold = RULES[shift]
    rows, standard = _rows()
    xs, ys = [], []
    for r in rows:
        name = r["model"]
        if name not in standard or name in EXCLUDED.get(shift, ()) or not r[x_col] or not r[y_col]:
            continue
        x, y = float(r[x_col]), float(r[y_col])
        if x >= threshold and 0 < x < 100 and 0 < y < 100:
            xs.append(x)
            ys.append(y)
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("shift", robustness.SHIFTS)
def test_baseline_fit_matches_numpy_polyfit(shift):
    xs, ys = _independent_points(shift)
    slope, intercept = np.polyfit(_logit(xs), _logit(ys), 1)
    got = robustness.baseline_fit(shift)
    assert got[2] == len(xs) > 50
    assert got[0] == pytest.approx(slope, rel=1e-9)
    assert got[1] == pytest.approx(intercept, rel=1e-9, abs=1e-12)


def test_effective_robustness_of_one_model_matches_hand_computation():
    rows, _ = _rows()
    row = next(r for r in rows if r["model"] == "vit_b_32_clip_zeroshot")
    x_col, y_col, _ = RULES["imagenet_r"]
    x, y = float(row[x_col]), float(row[y_col])
    xs, ys = _independent_points("imagenet_r")
    a, b = np.polyfit(_logit(xs), _logit(ys), 1)
    expected = y - 100 / (1 + math.exp(-(a * _logit(np.array([x]))[0] + b)))
    got = robustness.effective_robustness("imagenet_r", x, y)
    assert got == pytest.approx(expected, abs=1e-9)
    assert got > 20  # zero-shot CLIP sits far above the ImageNet models' line (the paper's point)


def test_standard_model_on_the_line_has_small_effective_robustness():
    rows, _ = _rows()
    row = next(r for r in rows if r["model"] == "resnet152")
    value = robustness.effective_robustness(
        "imagenetv2", float(row["val"]), float(row[RULES["imagenetv2"][1]])
    )
    assert abs(value) < 3


def test_average_baseline_matches_independent_computation():
    rows, standard = _rows()
    xs, ys = [], []
    for r in rows:
        cols = [RULES[s][0] for s in robustness.SHIFTS] + [RULES[s][1] for s in robustness.SHIFTS]
        if r["model"] not in standard or any(not r[c] for c in cols) or float(r["val"]) < 55:
            continue
        xs.append(np.mean([float(r[RULES[s][0]]) for s in robustness.SHIFTS]))
        ys.append(np.mean([float(r[RULES[s][1]]) for s in robustness.SHIFTS]))
    slope, intercept = np.polyfit(_logit(np.array(xs)), _logit(np.array(ys)), 1)
    got = robustness.baseline_fit("average")
    assert got[2] == len(xs)
    assert (got[0], got[1]) == pytest.approx((slope, intercept), rel=1e-9)
    assert robustness.average_point({"imagenetv2": (70.0, 60.0)}) is None
    full = {s: (80.0, float(i)) for i, s in enumerate(robustness.SHIFTS)}
    assert robustness.average_point(full) == (80.0, 3.0)


def test_zero_and_hundred_percent_are_clipped_never_infinite():
    assert np.isfinite(robustness.logit([0.0, 100.0])).all()
    assert robustness.logit(0.0) == pytest.approx(math.log(robustness.EPS / (1 - robustness.EPS)))
    value = robustness.effective_robustness("imagenet_a", 100.0, 0.0)
    assert math.isfinite(value) and value < 0
    # resnet50 scores 0.0 on ImageNet-A: it is neither shown nor fitted
    pts = robustness.testbed_points("imagenet_a")
    assert not pts.loc["resnet50", "shown"] and not pts.loc["resnet50", "in_fit"]


@pytest.mark.parametrize("bad", [101.0, -1.0, float("nan")])
def test_accuracy_outside_percent_range_is_rejected(bad):
    with pytest.raises(BenchError, match="percent"):
        robustness.effective_robustness("imagenetv2", bad, 50.0)


def test_unknown_shift_names_close_matches():
    with pytest.raises(UnknownNameError, match="imagenet_r"):
        robustness.baseline_fit("imagenet-r")


def test_fit_line_needs_three_points():
    with pytest.raises(BenchError, match="too few points"):
        robustness.fit_line([50.0, 60.0], [40.0, 45.0])
    fit = robustness.fit_line([50.0, 60.0, 70.0], [40.0, 45.0, 50.0])
    assert fit.n == 3 and fit.predict(60.0) == pytest.approx(45.0, abs=0.5)


def test_bootstrap_band_is_seeded_and_brackets_the_fit():
    pts = robustness.testbed_points("objectnet")
    pts = pts[pts["in_fit"]]
    grid = robustness.logit([60.0, 75.0, 90.0])
    a = robustness.bootstrap_band(pts["x"].to_numpy(), pts["y"].to_numpy(), grid, n_boot=200)
    b = robustness.bootstrap_band(pts["x"].to_numpy(), pts["y"].to_numpy(), grid, n_boot=200)
    c = robustness.bootstrap_band(
        pts["x"].to_numpy(), pts["y"].to_numpy(), grid, n_boot=200, seed=1
    )
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    slope, intercept, _ = robustness.baseline_fit("objectnet")
    line = slope * grid + intercept
    assert (a[0] < line).all() and (line < a[1]).all()


def test_shipped_testbed_data_is_the_reference_copy():
    ref = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "robustness"
    if not ref.is_dir():
        pytest.skip("../shared/reference is not present")
    pkg = resources.files("bench.data.robustness")
    for shipped, original in [
        ("robustness_top1s.csv", ref / "imagenet-testbed" / "robustness_top1s.csv"),
        ("model_types.csv", ref / "derived" / "model_types.csv"),
    ]:
        data = pkg.joinpath(shipped).read_bytes()
        assert hashlib.sha256(data).digest() == hashlib.sha256(original.read_bytes()).digest()
