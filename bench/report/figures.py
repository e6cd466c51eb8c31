"""Figure helpers shared by every plot: panel grids with fixed margins, fonts, deterministic saving,
logit axes, signed bars and legends that sit outside the axes.

Every figure is a :class:`matplotlib.figure.Figure` (Agg canvas; no pyplot, no display), sized in
inches and saved as PNG at :data:`DPI` and as SVG, with fixed metadata and ``svg.hashsalt``, so
the same results give byte-identical files. Text is never smaller than :data:`MIN_FONT_PT` at the
figure's size.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from bench import robustness
from bench.errors import BenchError
from bench.io import atomic_write_bytes

DPI = 200
FORMATS = ("png", "svg")
MIN_FONT_PT = 8
RC = {
    "svg.hashsalt": "bench", "svg.fonttype": "path", "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8, "legend.fontsize": 8,
}  # fmt: skip
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
_NICE_TICKS = (
    0.1, 0.5, 1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 92.5,
    95, 97.5, 99, 99.5, 99.9,
)  # fmt: skip
GREY, LIGHT_GREY = "#7f7f7f", "#c7c7c7"
POSITIVE, NEGATIVE = "tab:green", "tab:blue"


def save(fig: Figure, stem: str | Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Saves ``fig`` as ``stem.<fmt>`` for each format, atomically and deterministically.

    Raises:
        BenchError: for a format other than png and svg.
    """
    paths = []
    for fmt in formats:
        if fmt not in _METADATA:
            raise BenchError(f"unknown plot format {fmt!r}; valid choices: png, svg")
        buf = io.BytesIO()
        with matplotlib.rc_context(RC):
            fig.savefig(buf, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
        path = Path(f"{stem}.{fmt}")
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


def figure_grid(
    n_panels: int,
    ncols: int,
    panel: tuple[float, float],
    left: float = 0.75,
    legend_rows: int = 0,
) -> tuple[Figure, list[Axes]]:
    """A grid of panels of ``panel`` inches with fixed margins (``left`` inches per panel).

    Fixed margins, not a layout engine: faster, and the image size is exactly known.
    ``legend_rows`` reserves that many lines of space under the panels for :func:`legend_below`.
    """
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    below = 0.25 + 0.2 * legend_rows if legend_rows else 0.0
    width, height = panel[0] * ncols, panel[1] * nrows + below
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height), dpi=DPI)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    fig.subplots_adjust(
        left=left / panel[0] / ncols,
        right=1 - 0.2 / width,
        bottom=(0.6 + below) / height,
        top=1 - 0.35 / height,
        wspace=(left + 0.2) / (panel[0] - left - 0.2),
        hspace=0.95 / (panel[1] - 0.95),
    )
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def legend_below(fig: Figure, axes: Sequence[Axes], ncol: int) -> None:
    """One legend for all panels, centred under them (outside every axes), each label once."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if not label.startswith("_"):
                seen.setdefault(label, handle)
    if seen:
        fig.legend(
            list(seen.values()), list(seen), loc="lower center", ncol=max(1, min(ncol, len(seen))),
            frameon=False, bbox_to_anchor=(0.5, 0.0), fontsize=MIN_FONT_PT,
        )  # fmt: skip


def small_fonts(fig: Figure, minimum: float = MIN_FONT_PT) -> list[tuple[str, float]]:
    """``(text, size in pt)`` of every visible, non-empty text artist smaller than ``minimum``."""
    with matplotlib.rc_context(RC):
        fig.canvas.draw()  # tick labels exist only once drawn
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_fontsize() < minimum:
            out.append((t.get_text(), float(t.get_fontsize())))
    return out


def pixels(fig: Figure) -> tuple[int, int]:
    """The PNG's size in pixels."""
    w, h = fig.get_size_inches()
    return round(w * DPI), round(h * DPI)


def colors(models: Sequence[str]) -> dict[str, str]:
    """A fixed colour per model (tab10, in the order given)."""
    palette = matplotlib.colormaps["tab10"].colors
    return {m: matplotlib.colors.to_hex(palette[i % 10]) for i, m in enumerate(models)}


def percent_ticks(lo: float, hi: float, most: int = 7) -> list[float]:
    """Nice percentages between ``lo`` and ``hi`` (percent), spaced evenly on the logit axis."""
    ticks = [t for t in _NICE_TICKS if lo <= t <= hi]
    if len(ticks) <= 2:
        return ticks
    gap = (robustness.logit(hi) - robustness.logit(lo)) / (most + 1)
    kept = [ticks[0]]
    for t in ticks[1:]:
        if robustness.logit(t) - robustness.logit(kept[-1]) >= gap:
            kept.append(t)
    return kept


def logit_axes(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """Sets logit-space limits with tick labels in percent."""
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    lo_x, hi_x = robustness.inv_logit(np.array(xlim))
    lo_y, hi_y = robustness.inv_logit(np.array(ylim))
    xt, yt = percent_ticks(lo_x, hi_x), percent_ticks(lo_y, hi_y)
    ax.set_xticks(robustness.logit(xt), [f"{t:g}" for t in xt])
    ax.set_yticks(robustness.logit(yt), [f"{t:g}" for t in yt])
    ax.grid(True, color="#eeeeee", linewidth=0.6)


def logit_limits(xs: np.ndarray, ys: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """Logit-space limits around the points (percent), with 8% padding."""
    lx, ly = robustness.logit(xs), robustness.logit(ys)
    px, py = 0.08 * max(np.ptp(lx), 0.5), 0.08 * max(np.ptp(ly), 0.5)
    return (lx.min() - px, lx.max() + px), (ly.min() - py, ly.max() + py)


BAR_INCHES = 0.24  # one bar row: room for an 8 pt label with air around it


def bar_panel_height(n_bars: int) -> float:
    """Panel height (inches) for ``n_bars`` horizontal bars."""
    return max(2.4, 1.2 + BAR_INCHES * n_bars)


def signed_bars(ax: Axes, diff: pd.Series, xlim: tuple[float, float], xlabel: str) -> None:
    """Sorted horizontal bars of ``diff`` (index = labels), green >= 0, blue < 0, each labelled."""
    diff = diff.sort_values()
    ax.barh(
        range(len(diff)), diff.to_numpy(), color=[POSITIVE if d >= 0 else NEGATIVE for d in diff]
    )
    ax.set_yticks(range(len(diff)), list(diff.index))
    ax.set_ylim(-0.7, len(diff) - 0.3)
    for i, d in enumerate(diff):
        ax.text(d, i, f" {d:+.1f} ", va="center", ha="left" if d >= 0 else "right", fontsize=8)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlim(xlim)
    ax.set_xlabel(xlabel)


def shared_limits(values: Sequence[float], pad: float = 0.25) -> tuple[float, float]:
    """One x range for bar panels that compare: every value, zero, and room for the labels."""
    arr = np.asarray([*values, 0.0], dtype=float)
    lo, hi = float(arr.min()), float(arr.max())
    span = max(hi - lo, 1.0)
    return lo - pad * span, hi + pad * span
