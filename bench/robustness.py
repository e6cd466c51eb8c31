"""Effective robustness (Taori et al. 2020; the CLIP paper's Figures 13-14) on the ImageNet testbed.

Accuracies are transformed by ``logit(p) = ln(p / (1 - p))`` (``p`` the accuracy as a fraction) and a
line ``logit(y) = a * logit(x) + b`` is fitted by least squares over the testbed's standard ImageNet
models. A model's effective robustness on a shift is its shift accuracy minus the line's prediction at
its x accuracy, in percentage points.

The baseline rule, per shift (copied from the testbed's plotting scripts
``plotting/paper_*.py`` @ ``28477dc``; ``show_in_plot`` and ``use_for_line_fit`` there):

* the row has both the x and y columns (the testbed leaves an empty cell where it did not evaluate);
* ``default_line_fit_candidate == 1`` in ``model_types.csv``: model type ``STANDARD`` and a name with
  none of ``aws``, ``batch64``, ``subsample``;
* the x accuracy is at least the shift's threshold (:data:`SPECS` ``min_x``: 55 on ``val`` for
  ImageNetV2 and ImageNet-Sketch, 55 for ObjectNet, 75 for ImageNet-R and -A, 92 for ImageNet-Vid,
  95 for YouTube-BB, each on the shift's own x column);
* ImageNet-A also drops ``resnet50`` (ImageNet-A was filtered against it, so it scores 0.0). The
  testbed's own ImageNet-A figure fits two lines pivoting at 91.86; we fit one line, as for the
  other shifts, because the API (and the CLIP paper's figure) has one slope and intercept;
* rows with an accuracy of exactly 0 or 100 are dropped from a fit (their logit is infinite).

The ``average`` baseline (the CLIP paper's summary panel) fits the mean over the 7 shifts against
the mean of the 7 x columns, over standard candidates with all 14 columns and ``val >= 55`` (our
choice: the testbed has no rule for it; 55 is its ImageNet threshold).

Any other accuracy of 0 or 100 (a user's model) is clipped to ``[EPS, 1 - EPS]`` before the logit,
with ``EPS = 1e-4`` (0.01 points), so nothing is ever infinite.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from bench.errors import BenchError
from bench.registry import Registry

SHIFTS: tuple[str, ...] = (
    "imagenetv2",
    "imagenet_r",
    "imagenet_sketch",
    "objectnet",
    "imagenet_a",
    "imagenet_vid",
    "ytbb",
)
AVERAGE = "average"
EPS = 1e-4
MIN_FIT_POINTS = 3


@dataclass(frozen=True)
class ShiftSpec:
    """Where a shift's accuracies live in the testbed and which rows enter its baseline.

    Attributes:
        name: The bench task name (or ``average``).
        title: Human name for plots and tables.
        x_column: Testbed column of the ImageNet accuracy it is compared with.
        y_column: Testbed column of the shift accuracy.
        min_x: The testbed's threshold on the x column (percent).
        exclude: Testbed models never used in the fit.
        x_label: Axis label of the x accuracy.
    """

    name: str
    title: str
    x_column: str
    y_column: str
    min_x: float
    exclude: tuple[str, ...] = ()
    x_label: str = "ImageNet (class-subsampled)"


SPECS: Registry[ShiftSpec] = Registry("distribution shift", list_hint="bench tasks --tag shifts")
for _spec in (
    ShiftSpec("imagenetv2", "ImageNetV2", "val", "imagenetv2-matched-frequency-format-val", 55.0,
              x_label="ImageNet"),
    ShiftSpec("imagenet_r", "ImageNet-R", "val-on-imagenet-r-classes", "imagenet-r", 75.0),
    ShiftSpec("imagenet_sketch", "ImageNet-Sketch", "val", "imagenet-sketch", 55.0,
              x_label="ImageNet"),
    ShiftSpec("objectnet", "ObjectNet", "val-on-objectnet-classes", "objectnet-1.0-beta", 55.0),
    ShiftSpec("imagenet_a", "ImageNet-A", "val-on-imagenet-a-classes", "imagenet-a", 75.0,
              exclude=("resnet50",)),
    ShiftSpec("imagenet_vid", "ImageNet-Vid (pm-0)", "val-on-vid-robust-classes",
              "imagenet-vid-robust_pm0", 92.0),
    ShiftSpec("ytbb", "YouTube-BB (pm-0)", "val-on-ytbb-robust-classes", "ytbb-robust_pm0", 95.0),
):  # fmt: skip
    SPECS.register(_spec.name, _spec)
SPECS.register(
    AVERAGE,
    ShiftSpec(AVERAGE, "Average of 7 shifts", "mean of x columns", "mean of y columns", 55.0,
              x_label="Average on class-subsampled ImageNet"),
)  # fmt: skip


def get_spec(shift: str) -> ShiftSpec:
    """The :class:`ShiftSpec` of a shift task name (or ``average``).

    Raises:
        UnknownNameError: naming the close matches among the 7 shifts and ``average``.
    """
    return SPECS.get(shift)


@functools.cache
def testbed() -> pd.DataFrame:
    """The shipped testbed table: percent accuracies, one row per model, plus model types.

    Columns are the testbed's evaluation settings plus ``model_type`` and
    ``default_line_fit_candidate`` (0 for models missing from ``model_types.csv``).
    """
    pkg = resources.files("bench.data.robustness")
    with pkg.joinpath("robustness_top1s.csv").open("r", encoding="utf-8") as f:
        top1 = pd.read_csv(f, index_col=0)
    with pkg.joinpath("model_types.csv").open("r", encoding="utf-8") as f:
        types = pd.read_csv(f, index_col=0)
    df = top1.join(types[["model_type", "default_line_fit_candidate"]], how="left")
    df["default_line_fit_candidate"] = df["default_line_fit_candidate"].fillna(0).astype(int)
    df["model_type"] = df["model_type"].fillna("UNKNOWN")
    return df


def logit(acc: float | Sequence[float] | np.ndarray, eps: float = EPS) -> np.ndarray:
    """``ln(p / (1 - p))`` of accuracies in percent, with ``p`` clipped to ``[eps, 1 - eps]``.

    Raises:
        BenchError: if an accuracy is NaN or outside [0, 100].
    """
    a = np.asarray(acc, dtype=np.float64)
    bad = ~np.isfinite(a) | (a < 0) | (a > 100)
    if bad.any():
        raise BenchError(
            f"accuracy {a[bad].ravel()[0]!r} is not a percentage in [0, 100]; "
            "pass accuracies in percent (e.g. 76.2, not 0.762)"
        )
    p = np.clip(a / 100.0, eps, 1.0 - eps)
    return np.log(p / (1.0 - p))


def inv_logit(z: float | np.ndarray) -> np.ndarray:
    """The inverse of :func:`logit`, in percent."""
    return 100.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))


def _xy_columns(df: pd.DataFrame, spec: ShiftSpec) -> pd.DataFrame:
    """Columns ``x`` and ``y`` for a shift (means over the 7 for ``average``), NaN-free rows."""
    if spec.name == AVERAGE:
        specs = [get_spec(s) for s in SHIFTS]
        out = pd.DataFrame(
            {
                "x": df[[s.x_column for s in specs]].mean(axis=1, skipna=False),
                "y": df[[s.y_column for s in specs]].mean(axis=1, skipna=False),
                "val": df["val"],
            }
        )
        out = out.dropna()
        return out[out["val"] >= spec.min_x].drop(columns="val")
    return df[[spec.x_column, spec.y_column]].set_axis(["x", "y"], axis=1).dropna()


def testbed_points(shift: str) -> pd.DataFrame:
    """The testbed's models for a shift, as the testbed plots them.

    Args:
        shift: One of :data:`SHIFTS` or ``"average"``.

    Returns:
        A frame indexed by model name with ``x``, ``y`` (percent), ``model_type``, ``shown``
        (the testbed's ``show_in_plot``: x at least the threshold, not a ``subsample`` model, not
        excluded, no accuracy of exactly 0 or 100) and ``in_fit`` (shown and a standard model).

    Raises:
        UnknownNameError: for an unknown shift.
    """
    return _testbed_points(get_spec(shift).name).copy()


@functools.cache
def _testbed_points(shift: str) -> pd.DataFrame:
    spec = get_spec(shift)
    df = testbed()
    xy = _xy_columns(df, spec)
    out = xy.join(df[["model_type", "default_line_fit_candidate"]])
    names = out.index.str.lower()
    # An accuracy of exactly 0 or 100 has no place on logit axes: neither shown nor fitted.
    finite = (out[["x", "y"]] > 0).all(axis=1) & (out[["x", "y"]] < 100).all(axis=1)
    out["shown"] = (
        (out["x"] >= spec.min_x)
        & ~names.str.contains("subsample")
        & ~out.index.isin(spec.exclude)
        & finite
    )
    out["in_fit"] = out["shown"] & (out["default_line_fit_candidate"] == 1)
    return out.drop(columns="default_line_fit_candidate")


@dataclass(frozen=True)
class LineFit:
    """A least-squares line in logit space: ``logit(y) = slope * logit(x) + intercept``."""

    slope: float
    intercept: float
    n: int

    def predict(self, x_acc: float | np.ndarray) -> np.ndarray:
        """The fitted y accuracy (percent) at x accuracies (percent)."""
        return inv_logit(self.slope * logit(x_acc) + self.intercept)


def fit_line(x_acc: Sequence[float] | np.ndarray, y_acc: Sequence[float] | np.ndarray) -> LineFit:
    """Fits ``logit(y) = a logit(x) + b`` by least squares.

    Raises:
        BenchError: with fewer than :data:`MIN_FIT_POINTS` points or all x equal.
    """
    x, y = logit(x_acc), logit(y_acc)
    if len(x) < MIN_FIT_POINTS or np.ptp(x) == 0:
        raise BenchError(
            f"too few points for a line fit: {len(x)} model(s) with distinct x accuracies, "
            f"need at least {MIN_FIT_POINTS}"
        )
    design = np.stack([x, np.ones_like(x)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(design, y, rcond=None)
    return LineFit(float(slope), float(intercept), len(x))


@functools.cache
def _baseline(shift: str) -> LineFit:
    pts = testbed_points(shift)
    pts = pts[pts["in_fit"]]
    return fit_line(pts["x"].to_numpy(), pts["y"].to_numpy())


def baseline_fit(shift: str) -> tuple[float, float, int]:
    """The testbed baseline of a shift, fitted in logit space over its standard models.

    Args:
        shift: One of :data:`SHIFTS` or ``"average"``.

    Returns:
        ``(slope, intercept, n_models)`` of ``logit(y) = slope * logit(x) + intercept``.

    Raises:
        UnknownNameError: for an unknown shift.
    """
    fit = _baseline(get_spec(shift).name)
    return fit.slope, fit.intercept, fit.n


def effective_robustness(shift: str, x_acc: float, y_acc: float) -> float:
    """A model's effective robustness on a shift, in percentage points.

    Args:
        shift: One of :data:`SHIFTS` or ``"average"``.
        x_acc: The model's accuracy (percent) on the shift's x: ImageNet val for ImageNetV2 and
            ImageNet-Sketch, ImageNet val restricted to the shift's classes for the others.
        y_acc: The model's accuracy (percent) on the shift (pm-0 for ImageNet-Vid and YouTube-BB).

    Returns:
        ``y_acc`` minus the baseline's prediction at ``x_acc``.

    Raises:
        UnknownNameError: for an unknown shift.
        BenchError: for an accuracy outside [0, 100].
    """
    logit(y_acc)  # validates
    fit = _baseline(get_spec(shift).name)
    return float(y_acc - fit.predict(x_acc))


def average_point(per_shift: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    """The paper's summary point: mean x and mean y over the 7 shifts, or None if any is missing.

    Args:
        per_shift: shift name -> ``(x_acc, y_acc)`` in percent.
    """
    if any(s not in per_shift for s in SHIFTS):
        return None
    xs = [per_shift[s][0] for s in SHIFTS]
    ys = [per_shift[s][1] for s in SHIFTS]
    return float(np.mean(xs)), float(np.mean(ys))


def check_n_boot(n_boot: int) -> int:
    """``n_boot`` if it is a usable number of bootstrap resamples (at least 1).

    Raises:
        BenchError: naming the value and the valid range.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise BenchError(
            f"--bootstrap {n_boot!r}: the number of bootstrap resamples must be an integer of at "
            "least 1 (default 1000)"
        )
    return n_boot


def bootstrap_band(
    x_acc: np.ndarray,
    y_acc: np.ndarray,
    grid: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 95.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise bootstrap band of a logit-space line fit (the testbed's percentile method).

    Args:
        x_acc: x accuracies (percent) of the fitted points.
        y_acc: y accuracies (percent) of the fitted points.
        grid: logit-space x values where the band is evaluated.
        n_boot: Bootstrap resamples (rows drawn with replacement).
        seed: Seed of the resampling, so the band is deterministic.
        level: Coverage in percent.

    Returns:
        ``(lower, upper)`` logit-space y values on ``grid``.
    """
    check_n_boot(n_boot)
    x, y = logit(x_acc), logit(y_acc)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    xb, yb = x[idx], y[idx]
    xm, ym = xb.mean(axis=1, keepdims=True), yb.mean(axis=1, keepdims=True)
    sxx = ((xb - xm) ** 2).sum(axis=1)
    # A resample with a single distinct x has no slope; it carries no information about the line.
    ok = sxx > 0
    slope = ((xb - xm) * (yb - ym)).sum(axis=1)[ok] / sxx[ok]
    intercept = ym[ok, 0] - slope * xm[ok, 0]
    lines = slope[:, None] * np.asarray(grid)[None, :] + intercept[:, None]
    tail = (100.0 - level) / 2
    return np.percentile(lines, tail, axis=0), np.percentile(lines, 100.0 - tail, axis=0)
