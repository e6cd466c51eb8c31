"""The demo's robustness view: the paper's Figure 13 in miniature, for digits -> ``digits_shifted``.

A family of small supervised models (scikit-learn logistic regressions and MLPs on the pixels,
trained on the clean digits' train split at several sizes) gives points ``(accuracy on digits,
accuracy on digits_shifted)``; a line fitted to them in logit space is the baseline, as the
ImageNet testbed's standard models are for ImageNet. The tiny CLIP's zero-shot point is drawn
against it; its effective robustness is its shifted accuracy minus the baseline's prediction.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bench import robustness
from bench.report import figures

CLEAN, SHIFTED = "digits", "digits_shifted"
TRAIN_SIZES = (30, 60, 120, 250, 500, 1080)
FAMILIES = ("logistic regression", "MLP (64 hidden)")


@dataclass(frozen=True)
class BaselinePoint:
    """One supervised model: its family, training size and test accuracies (percent)."""

    family: str
    train_size: int
    clean: float
    shifted: float


def _pixels(task_name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """A split's images as 8x8 grey means of the task's 32x32 RGB images, scaled to 0-1."""
    from bench.tasks import get_task

    ds = get_task(task_name).dataset(split)
    grey = np.stack([np.asarray(ds[i][0].convert("L"), dtype=np.float32) for i in range(len(ds))])
    n, h, w = grey.shape
    pooled = grey.reshape(n, 8, h // 8, 8, w // 8).mean(axis=(2, 4))
    return pooled.reshape(n, -1) / 255.0, np.asarray(ds.labels)


def _model(family: str, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if family == FAMILIES[0]:
        return LogisticRegression(max_iter=1000, C=1.0)
    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=400, random_state=seed)


def _subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A seeded, class-balanced subset of ``size`` indices."""
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    take = [idx[: max(1, size // len(per_class))] for idx in per_class]
    return np.sort(np.concatenate(take))


def baseline_points(seed: int = 0) -> list[BaselinePoint]:
    """Trains every family at every size on the clean train split; scores both test splits."""
    x_train, y_train = _pixels(CLEAN, "train")
    x_clean, y_clean = _pixels(CLEAN, "test")
    x_shift, y_shift = _pixels(SHIFTED, "test")
    points = []
    for family in FAMILIES:
        for size in TRAIN_SIZES:
            idx = _subset(y_train, min(size, len(y_train)), seed)
            with warnings.catch_warnings():  # an MLP on 30 images may not converge: still a point
                warnings.simplefilter("ignore")
                model = _model(family, seed).fit(x_train[idx], y_train[idx])
            points.append(
                BaselinePoint(
                    family,
                    len(idx),
                    100.0 * float((model.predict(x_clean) == y_clean).mean()),
                    100.0 * float((model.predict(x_shift) == y_shift).mean()),
                )  # fmt: skip
            )
    return points


def effective_robustness(points: list[BaselinePoint], clean: float, shifted: float) -> float:
    """``shifted`` minus the baseline's prediction at ``clean`` (points)."""
    fit = robustness.fit_line([p.clean for p in points], [p.shifted for p in points])
    return float(shifted - fit.predict(clean))


def plot(
    points: list[BaselinePoint], clip: dict[str, tuple[float, float]], stem: Path, seed: int = 0
) -> list[Path]:
    """Draws the baseline, its bootstrap 95% band, y = x and the CLIP points on logit axes.

    Args:
        points: The supervised models.
        clip: Label -> (clean, shifted) accuracy of the tiny CLIP (e.g. its zero-shot point).
        stem: Output path without extension (PNG and SVG are written).
        seed: Bootstrap seed.
    """
    xs = np.array([p.clean for p in points] + [v[0] for v in clip.values()])
    ys = np.array([p.shifted for p in points] + [v[1] for v in clip.values()])
    xlim, ylim = figures.logit_limits(xs, ys)
    fig, (ax,) = figures.figure_grid(1, 1, (6.0, 5.0), left=0.8, legend_rows=3)
    lg = robustness.logit
    lo, hi = min(xlim[0], ylim[0]), max(xlim[1], ylim[1])
    ax.plot([lo, hi], [lo, hi], ls="--", color="black", lw=0.7, label="y = x (no drop)")
    for family, marker in zip(FAMILIES, ("o", "s"), strict=True):
        mine = [p for p in points if p.family == family]
        ax.scatter(lg([p.clean for p in mine]), lg([p.shifted for p in mine]), s=22,
                   marker=marker, color=figures.GREY, label=f"supervised: {family}")  # fmt: skip
    bx, by = np.array([p.clean for p in points]), np.array([p.shifted for p in points])
    fit = robustness.fit_line(bx, by)
    grid = np.linspace(xlim[0], xlim[1], 200)
    band = robustness.bootstrap_band(bx, by, grid, n_boot=500, seed=seed)
    ax.fill_between(grid, *band, color="tab:red", alpha=0.2, lw=0)
    ax.plot(grid, fit.slope * grid + fit.intercept, color="tab:red", lw=1,
            label="baseline fit to the supervised models (95% CI)")  # fmt: skip
    for (label, (x, y)), color in zip(clip.items(), ("tab:blue", "tab:orange"), strict=False):
        er = effective_robustness(points, x, y)
        ax.scatter([lg(x)], [lg(y)], s=120, marker="*", color=color, edgecolors="black", lw=0.5,
                   zorder=5, label=f"{label} (effective robustness {er:+.1f})")  # fmt: skip
    figures.logit_axes(ax, xlim, ylim)
    ax.set_title("Figure 13 in miniature: digits → digits_shifted")
    ax.set_xlabel("accuracy on digits (%, logit axis)")
    ax.set_ylabel("accuracy on digits_shifted (%, logit axis)")
    figures.legend_below(fig, [ax], ncol=1)
    return figures.save(fig, stem)


def as_dicts(points: list[BaselinePoint]) -> list[dict]:
    """JSON-ready points."""
    return [asdict(p) for p in points]
