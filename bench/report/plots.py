"""Plots from result files: effective robustness, few-shot curves, zero-shot vs linear probe.

Every plot is drawn on a :class:`matplotlib.figure.Figure` (Agg canvas; no pyplot, no display)
and saved as PNG and SVG with fixed metadata and ``svg.hashsalt``, so the same results give
byte-identical files. Plot kinds live in :data:`PLOTS` (``bench plot KIND``).

When a fit cannot be drawn (too few points) the plot shows what exists and says why in the
figure; the reason is also returned in :attr:`PlotOutput.notes` for the CLI.
"""

from __future__ import annotations

import io
import math
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench import robustness
from bench.errors import BenchError
from bench.io import atomic_write_bytes
from bench.registry import Registry
from bench.report.tables import collapse_seeds, shift_points, task_order

DPI = 100
FORMATS = ("png", "svg")
_RC = {"svg.hashsalt": "bench", "svg.fonttype": "path", "font.size": 8, "axes.titlesize": 9}
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
_NICE_TICKS = (
    0.1, 0.5, 1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 92.5,
    95, 97.5, 99, 99.5, 99.9,
)  # fmt: skip
GREY, LIGHT_GREY = "#7f7f7f", "#c7c7c7"


@dataclass
class PlotOutput:
    """Files written by one plot, and what could not be drawn (one line each)."""

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class PlotRequest:
    """Options of a plot; each kind reads the ones it needs.

    Attributes:
        tasks: Tasks to show (few-shot, zs-vs-lp); None = all found.
        shifts: Shifts to show (effective-robustness); None = the average and all 7.
        head: ``zero-shot`` (suite ``robustness``) or ``adapt-imagenet`` (``robustness-adapt``).
        n_boot: Bootstrap resamples of the baseline's 95% band.
        seed: Seed of the bootstrap.
        formats: File formats to write.
    """

    tasks: tuple[str, ...] | None = None
    shifts: tuple[str, ...] | None = None
    head: str = "zero-shot"
    n_boot: int = 1000
    seed: int = 0
    formats: tuple[str, ...] = FORMATS


PlotFn = Callable[[pd.DataFrame, Path, PlotRequest], PlotOutput]
PLOTS: Registry[PlotFn] = Registry("plot kind", list_hint="bench plot --help")


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
        with matplotlib.rc_context(_RC):
            fig.savefig(buf, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
        path = Path(f"{stem}.{fmt}")
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


def _figure(
    n_panels: int, ncols: int, panel: tuple[float, float], left: float = 0.65
) -> tuple[Figure, list[Axes]]:
    """A grid of panels of ``panel`` inches with fixed margins (``left`` inches per panel).

    Fixed margins, not a layout engine: faster, and the image size is exactly known.
    """
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    width, height = panel[0] * ncols, panel[1] * nrows
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), dpi=DPI)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    fig.subplots_adjust(
        left=left / panel[0] / ncols,
        right=1 - 0.15 / width,
        bottom=0.5 / height,
        top=1 - 0.3 / height,
        wspace=(left + 0.15) / (panel[0] - left - 0.15),
        hspace=0.8 / (panel[1] - 0.8),
    )
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def _hint(df: pd.DataFrame, suite: str) -> str:
    """The ``bench run`` command(s) that produce a suite's results for the models in ``df``."""
    models = sorted(df["model"].unique())[:3] or ["MODEL"]
    return " / ".join(f"`bench run --model {shlex.quote(m)} --suite {suite}`" for m in models)


def _colors(models: Sequence[str]) -> dict[str, str]:
    palette = matplotlib.colormaps["tab10"].colors
    return {m: matplotlib.colors.to_hex(palette[i % 10]) for i, m in enumerate(models)}


def _percent_ticks(lo: float, hi: float, most: int = 7) -> list[float]:
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


def _logit_axes(ax: Axes, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
    """Sets logit-space limits with tick labels in percent."""
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    lo_x, hi_x = robustness.inv_logit(np.array(xlim))
    lo_y, hi_y = robustness.inv_logit(np.array(ylim))
    xt, yt = _percent_ticks(lo_x, hi_x), _percent_ticks(lo_y, hi_y)
    ax.set_xticks(robustness.logit(xt), [f"{t:g}" for t in xt])
    ax.set_yticks(robustness.logit(yt), [f"{t:g}" for t in yt])
    ax.grid(True, color="#eeeeee", linewidth=0.6)


def _no_data(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


# --- effective robustness ---------------------------------------------------------------------

HEAD_SUITE = {"zero-shot": "robustness", "adapt-imagenet": "robustness-adapt"}


def _user_points(df: pd.DataFrame, shift: str, suite: str) -> pd.DataFrame:
    """Columns model, x, y for one shift (the per-model 7-shift means for ``average``)."""
    pts = shift_points(df, suite)
    if shift != robustness.AVERAGE:
        return pts[pts["shift"] == shift][["model", "x", "y"]].reset_index(drop=True)
    rows = []
    for model, g in pts.dropna().groupby("model", sort=True):
        avg = robustness.average_point({r.shift: (r.x, r.y) for r in g.itertuples()})
        if avg is not None:
            rows.append({"model": model, "x": avg[0], "y": avg[1]})
    return pd.DataFrame(rows, columns=["model", "x", "y"])


def _limits(xs: np.ndarray, ys: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    lx, ly = robustness.logit(xs), robustness.logit(ys)
    px, py = 0.08 * max(np.ptp(lx), 0.5), 0.08 * max(np.ptp(ly), 0.5)
    return (lx.min() - px, lx.max() + px), (ly.min() - py, ly.max() + py)


def _baseline(ax: Axes, shift: str, xlim: tuple[float, float], req: PlotRequest) -> str | None:
    """Testbed points, baseline fit and its bootstrap band; the reason if the fit is absent."""
    tb = robustness.testbed_points(shift)
    shown, fit_rows = tb[tb["shown"] & ~tb["in_fit"]], tb[tb["in_fit"]]
    lg = robustness.logit
    ax.scatter(lg(shown["x"]), lg(shown["y"]), s=8, color=LIGHT_GREY, lw=0, label="testbed, other")
    ax.scatter(lg(fit_rows["x"]), lg(fit_rows["y"]), s=8, color=GREY, lw=0,
               label=f"testbed, standard ({len(fit_rows)})")  # fmt: skip
    try:
        fit = robustness.fit_line(fit_rows["x"].to_numpy(), fit_rows["y"].to_numpy())
    except BenchError as e:
        return f"no baseline fit: {e}"
    grid = np.linspace(xlim[0], xlim[1], 200)
    lo, hi = robustness.bootstrap_band(
        fit_rows["x"].to_numpy(), fit_rows["y"].to_numpy(), grid, n_boot=req.n_boot, seed=req.seed
    )
    ax.fill_between(grid, lo, hi, color="tab:red", alpha=0.2, lw=0)
    ax.plot(
        grid, fit.slope * grid + fit.intercept, color="tab:red", lw=1, label="baseline (95% CI)"
    )
    return None


def _user_fit(ax: Axes, mine: pd.DataFrame, xlim: tuple[float, float]) -> bool:
    """A line through the user's models (as the paper's zero-shot CLIP line), if there are enough.

    Returns whether it was drawn; if not, the panel says why.
    """
    try:
        fit = robustness.fit_line(mine["x"].to_numpy(), mine["y"].to_numpy())
    except BenchError:
        ax.text(0.98, 0.02, f"no line through your models: {len(mine)} < "
                f"{robustness.MIN_FIT_POINTS} models", transform=ax.transAxes, ha="right",
                va="bottom", fontsize=6)  # fmt: skip
        return False
    grid = np.linspace(xlim[0], xlim[1], 50)
    ax.plot(
        grid, fit.slope * grid + fit.intercept, color="black", lw=1, ls=":", label="your models"
    )
    return True


def _draw_models(ax: Axes, mine: pd.DataFrame, moved: pd.DataFrame, colors: dict) -> None:
    lg = robustness.logit
    for r in mine.itertuples():
        x, y, c = float(lg(r.x)), float(lg(r.y)), colors[r.model]
        ax.scatter([x], [y], s=40, color=c, marker="*", edgecolors="black", lw=0.4, zorder=5)
        ax.annotate(r.model, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7, color=c)
    for r in moved.itertuples():
        x, y, c = float(lg(r.x)), float(lg(r.y)), colors[r.model]
        ax.scatter([x], [y], s=25, facecolors="none", edgecolors=c, lw=1, zorder=5)
        start = mine[mine["model"] == r.model]
        if len(start):
            x0, y0 = float(lg(start["x"].iloc[0])), float(lg(start["y"].iloc[0]))
            ax.annotate(
                "", (x, y), (x0, y0), arrowprops={"arrowstyle": "->", "color": c, "lw": 0.8}
            )


def _er_panel(
    ax: Axes, shift: str, mine: pd.DataFrame, moved: pd.DataFrame, colors: dict, req: PlotRequest
) -> tuple[list[str], bool]:
    """One shift's panel; returns notes and whether the line through the user's models exists."""
    spec = robustness.get_spec(shift)
    notes = [
        f"{spec.title}: {m} has no class-subsampled ImageNet accuracy; re-run its robustness suite"
        for m in mine[mine["x"].isna()]["model"]
    ]
    mine, moved = mine.dropna(), moved.dropna()
    tb = robustness.testbed_points(shift)
    tb = tb[tb["shown"]]
    xs = np.concatenate([tb["x"], mine["x"], moved["x"]])
    ys = np.concatenate([tb["y"], mine["y"], moved["y"]])
    xlim, ylim = _limits(xs, ys)
    lo, hi = min(xlim[0], ylim[0]), max(xlim[1], ylim[1])
    ax.plot([lo, hi], [lo, hi], ls="--", color="black", lw=0.7, label="y = x")
    absent = _baseline(ax, shift, xlim, req)
    if absent:
        ax.text(0.02, 0.98, absent, transform=ax.transAxes, ha="left", va="top", fontsize=6)
        notes.append(f"{spec.title}: {absent}")
    has_line = _user_fit(ax, mine, xlim)
    _draw_models(ax, mine, moved, colors)
    _logit_axes(ax, xlim, ylim)
    ax.set_title(spec.title)
    ax.set_xlabel(f"{spec.x_label} (top-1, %)")
    ax.set_ylabel(f"{spec.title} (%)")
    return notes, has_line


@PLOTS.decorator("effective-robustness")
def plot_effective_robustness(df: pd.DataFrame, stem: Path, req: PlotRequest) -> PlotOutput:
    """Shift accuracy against (class-subsampled) ImageNet accuracy on logit axes, per shift.

    Panels: the paper's average summary, then each shift. Grey: the testbed's models (darker:
    the standard models of the baseline fit); red: the baseline fit with its bootstrap 95% band;
    dashed: y = x; stars: your models (zero-shot), circles with arrows: adapted to ImageNet.

    Raises:
        BenchError: if there are no robustness results, or an unknown shift or head.
    """
    if req.head not in HEAD_SUITE:
        raise BenchError(f"unknown head {req.head!r}; valid choices: {', '.join(HEAD_SUITE)}")
    suite = HEAD_SUITE[req.head]
    if shift_points(df, suite).empty:
        raise BenchError(
            f"no {suite} results on the 7 shifts; produce them with {_hint(df, 'robustness')}"
        )
    panels = list(req.shifts) if req.shifts else [robustness.AVERAGE, *robustness.SHIFTS]
    panels = [robustness.get_spec(p).name for p in panels]
    colors = _colors(sorted(df["model"].unique()))
    fig, axes = _figure(len(panels), 4, (4.2, 3.8))
    notes: list[str] = []
    no_line = []
    for ax, shift in zip(axes, panels, strict=True):
        mine = _user_points(df, shift, suite)
        moved = _user_points(df, shift, "robustness-adapt") if suite == "robustness" else mine[:0]
        panel_notes, has_line = _er_panel(ax, shift, mine, moved, colors, req)
        notes += panel_notes
        no_line += [] if has_line else [robustness.get_spec(shift).title]
    if no_line:
        notes.append(
            f"effective-robustness: no line through your models on {', '.join(no_line)}: "
            f"a fit needs at least {robustness.MIN_FIT_POINTS} models with distinct accuracies"
        )
    axes[0].legend(loc="upper left", fontsize=6, frameon=False)
    return PlotOutput(save(fig, stem, req.formats), notes, _pixels(fig))


def _pixels(fig: Figure) -> tuple[int, int]:
    w, h = fig.get_size_inches()
    return round(w * DPI), round(h * DPI)


# --- few-shot -----------------------------------------------------------------------------------


def _zero_shot_levels(df: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(model, task) -> zero-shot value: the zero-shot suite's, else the few-shot 0-shot point."""
    rows = collapse_seeds(df[df["suite"].isin(["zero-shot", "few-shot"])])
    zero = rows[(rows["suite"] == "few-shot") & (rows["shots"] == 0)]
    levels = {(r.model, r.task): float(r.value) for r in zero.itertuples()}
    for r in rows[rows["suite"] == "zero-shot"].itertuples():
        levels[(r.model, r.task)] = float(r.value)
    return levels


def _shot_axis(ax: Axes, shots: Sequence[int]) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(shots), [str(int(k)) for k in shots])
    ax.minorticks_off()
    ax.set_xlabel("labelled examples per class")
    ax.grid(True, color="#eeeeee", linewidth=0.6)


def _few_shot_average(
    ax: Axes, fs: pd.DataFrame, levels: dict, colors: dict
) -> tuple[list[str], list[int]]:
    """Mean over the tasks that have every shot count; returns notes and the shots drawn."""
    notes, all_shots = [], set()
    for model in sorted(fs["model"].unique()):
        wide = fs[fs["model"] == model].pivot_table(index="task", columns="shots", values="value")
        complete = wide.dropna()
        left_out = sorted(set(wide.index) - set(complete.index))
        if left_out:
            notes.append(f"few-shot average: {model}: left out {', '.join(left_out)} "
                         "(not every shot count)")  # fmt: skip
        if complete.empty:
            continue
        shots = [int(k) for k in complete.columns]
        all_shots.update(shots)
        ax.plot(shots, complete.mean().to_numpy(), marker="o", ms=3, color=colors[model],
                label=f"{model} ({len(complete)} tasks)")  # fmt: skip
        zs = [levels.get((model, t)) for t in complete.index]
        if all(v is not None for v in zs):
            ax.axhline(float(np.mean(zs)), color=colors[model], ls="--", lw=0.8)
        else:
            notes.append(f"few-shot average: {model}: no zero-shot level (a task lacks it)")
    ax.plot([], [], color="black", ls="--", lw=0.8, label="zero-shot level")
    ax.set_title("Average over datasets")
    return notes, sorted(all_shots)


@PLOTS.decorator("few-shot")
def plot_few_shot(df: pd.DataFrame, stem: Path, req: PlotRequest) -> PlotOutput:
    """Accuracy against labelled examples per class, averaged over datasets and per dataset.

    Solid: the few-shot linear probe (mean over seeds); dashed: the model's zero-shot level.

    Raises:
        BenchError: if there are no few-shot results (for the requested tasks).
    """
    fs = collapse_seeds(df[df["suite"] == "few-shot"])
    fs = fs[fs["shots"].notna() & (fs["shots"] > 0)]
    if req.tasks:
        fs = fs[fs["task"].isin(list(req.tasks))]
    if fs.empty:
        raise BenchError(
            "no few-shot results" + (f" for {', '.join(req.tasks)}" if req.tasks else "")
            + f"; produce them with {_hint(df, 'few-shot')}"
        )  # fmt: skip
    levels, tasks = _zero_shot_levels(df), task_order(fs["task"].unique())
    colors = _colors(sorted(df["model"].unique()))
    fig, axes = _figure(len(tasks) + 1, 4, (3.4, 2.8))
    notes, shots = _few_shot_average(axes[0], fs, levels, colors)
    _shot_axis(axes[0], shots or sorted(fs["shots"].astype(int).unique()))
    axes[0].set_ylabel("score (%)")
    axes[0].legend(fontsize=6, frameon=False)
    for ax, task in zip(axes[1:], tasks, strict=True):
        here = fs[fs["task"] == task]
        for model in sorted(here["model"].unique()):
            g = here[here["model"] == model].sort_values("shots")
            ax.plot(g["shots"], g["value"], marker="o", ms=3, color=colors[model], label=model)
            if (model, task) in levels:
                ax.axhline(levels[(model, task)], color=colors[model], ls="--", lw=0.8)
        _shot_axis(ax, sorted(here["shots"].astype(int).unique()))
        ax.set_title(task)
    return PlotOutput(save(fig, stem, req.formats), notes, _pixels(fig))


# --- zero-shot vs linear probe ------------------------------------------------------------------


@PLOTS.decorator("zs-vs-lp")
def plot_zs_vs_lp(df: pd.DataFrame, stem: Path, req: PlotRequest) -> PlotOutput:
    """Per model, zero-shot minus linear-probe score per dataset as sorted bars (Figure 5 style).

    Raises:
        BenchError: if no task has both a zero-shot and a linear-probe result for one model.
    """
    rows = collapse_seeds(df[df["suite"].isin(["zero-shot", "linear-probe"])])
    if req.tasks:
        rows = rows[rows["task"].isin(list(req.tasks))]
    wide = rows.pivot_table(index=["model", "task"], columns="suite", values="value")
    wide = wide.reindex(columns=["zero-shot", "linear-probe"])
    both = wide.dropna()
    if both.empty:
        raise BenchError(
            "no task has both a zero-shot and a linear-probe result for the same model; produce "
            f"them with {_hint(df, 'zero-shot')} and {_hint(df, 'linear-probe')}"
        )
    notes = [
        f"zs-vs-lp: {m}: {t} has only a {'linear-probe' if np.isnan(r[0]) else 'zero-shot'} result"
        for (m, t), r in zip(wide.index, wide.to_numpy(), strict=True)
        if np.isnan(r).any()
    ]
    models = sorted(both.index.get_level_values("model").unique())
    n_max = max(len(both.loc[m]) for m in models)
    fig, axes = _figure(len(models), 3, (4.6, max(2.2, 1.0 + 0.22 * n_max)), left=1.2)
    for ax, model in zip(axes, models, strict=True):
        diff = (both.loc[model, "zero-shot"] - both.loc[model, "linear-probe"]).sort_values()
        colors = ["tab:green" if d >= 0 else "tab:blue" for d in diff]
        ax.barh(range(len(diff)), diff.to_numpy(), color=colors)
        ax.set_yticks(range(len(diff)), list(diff.index))
        for i, d in enumerate(diff):
            ax.text(d, i, f" {d:+.1f} ", va="center", ha="left" if d >= 0 else "right", fontsize=6)
        ax.axvline(0, color="black", lw=0.6)
        ax.set_xlabel("zero-shot minus linear probe (points)")
        ax.set_title(model)
        ax.margins(x=0.2)
    return PlotOutput(save(fig, stem, req.formats), notes, _pixels(fig))
