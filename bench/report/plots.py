"""Plots from result files: effective robustness, few-shot curves, zero-shot vs linear probe and
the prompt ablation.

Every plot is drawn with the helpers of :mod:`bench.report.figures` (fixed margins, text of at
least 8 pt, PNG at 200 dpi and SVG, byte-identical for the same results). Legends sit outside the
axes, under the panels. Plot kinds live in :data:`PLOTS` (``bench plot KIND``).

When a fit cannot be drawn (too few points) the plot shows what exists and says why in the
figure; the reason is also returned in :attr:`PlotOutput.notes` for the CLI.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bench import robustness
from bench.errors import BenchError
from bench.registry import Registry
from bench.report import figures
from bench.report.collect import ZERO_SHOT_SUITES
from bench.report.figures import GREY, LIGHT_GREY, logit_axes, logit_limits
from bench.report.tables import collapse_seeds, shift_points, task_order

# Kept for callers of the earlier names; the helpers live in bench.report.figures.
DPI, FORMATS, save = figures.DPI, figures.FORMATS, figures.save


@dataclass
class PlotOutput:
    """Files written by one plot, what could not be drawn (one line each), and the figure."""

    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)
    figure: Figure | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class PlotRequest:
    """Options of a plot; each kind reads the ones it needs.

    Attributes:
        tasks: Tasks to show (few-shot, zs-vs-lp, prompt-ablation); None = all found.
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


def _done(fig: Figure, stem: Path, req: PlotRequest, notes: list[str]) -> PlotOutput:
    return PlotOutput(figures.save(fig, stem, req.formats), notes, figures.pixels(fig), fig)


def _hint(df: pd.DataFrame, suite: str, extra: str = "") -> str:
    """The ``bench run`` command(s) that produce a suite's results for the models in ``df``."""
    models = sorted(df["model"].unique())[:3] or ["MODEL"]
    return " / ".join(
        f"`bench run --model {shlex.quote(m)} --suite {suite}{extra}`" for m in models
    )


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


def _baseline(ax: Axes, shift: str, xlim: tuple[float, float], req: PlotRequest) -> str | None:
    """Testbed points, baseline fit and its bootstrap band; the reason if the fit is absent."""
    tb = robustness.testbed_points(shift)
    shown, fit_rows = tb[tb["shown"] & ~tb["in_fit"]], tb[tb["in_fit"]]
    lg = robustness.logit
    ax.scatter(lg(shown["x"]), lg(shown["y"]), s=8, color=LIGHT_GREY, lw=0, label="testbed, other")
    ax.scatter(lg(fit_rows["x"]), lg(fit_rows["y"]), s=8, color=GREY, lw=0,
               label="testbed, standard (baseline fit)")  # fmt: skip
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
                va="bottom", fontsize=8)  # fmt: skip
        return False
    grid = np.linspace(xlim[0], xlim[1], 50)
    ax.plot(
        grid,
        fit.slope * grid + fit.intercept,
        color="black",
        lw=1,
        ls=":",
        label="fit to your models",
    )
    return True


def _draw_models(ax: Axes, mine: pd.DataFrame, moved: pd.DataFrame, colors: dict) -> None:
    lg = robustness.logit
    for r in mine.itertuples():
        x, y, c = float(lg(r.x)), float(lg(r.y)), colors[r.model]
        ax.scatter([x], [y], s=60, color=c, marker="*", edgecolors="black", lw=0.4, zorder=5,
                   label="your models, zero-shot")  # fmt: skip
        ax.annotate(r.model, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=8, color=c)
    for r in moved.itertuples():
        x, y, c = float(lg(r.x)), float(lg(r.y)), colors[r.model]
        ax.scatter([x], [y], s=30, facecolors="none", edgecolors=c, lw=1, zorder=5,
                   label="adapted to ImageNet")  # fmt: skip
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
    xlim, ylim = logit_limits(xs, ys)
    lo, hi = min(xlim[0], ylim[0]), max(xlim[1], ylim[1])
    ax.plot([lo, hi], [lo, hi], ls="--", color="black", lw=0.7, label="y = x")
    absent = _baseline(ax, shift, xlim, req)
    if absent:
        ax.text(
            0.02, 0.98, absent, transform=ax.transAxes, ha="left", va="top", fontsize=8, wrap=True
        )
        notes.append(f"{spec.title}: {absent}")
    has_line = _user_fit(ax, mine, xlim)
    _draw_models(ax, mine, moved, colors)
    logit_axes(ax, xlim, ylim)
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
    colors = figures.colors(sorted(df["model"].unique()))
    fig, axes = figures.figure_grid(len(panels), 4, (4.2, 3.8), legend_rows=2)
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
    figures.legend_below(fig, axes, ncol=3)
    return _done(fig, stem, req, notes)


# --- few-shot -----------------------------------------------------------------------------------

ZERO_SHOT_MARKER = "*"


def _zero_shot_levels(df: pd.DataFrame) -> dict[tuple[str, str], float]:
    """(model, task) -> zero-shot value: the zero-shot suite's, else the few-shot 0-shot point."""
    rows = collapse_seeds(df[df["suite"].isin(["zero-shot", "few-shot"])])
    zero = rows[(rows["suite"] == "few-shot") & (rows["shots"] == 0)]
    levels = {(r.model, r.task): float(r.value) for r in zero.itertuples()}
    for r in rows[rows["suite"] == "zero-shot"].itertuples():
        levels[(r.model, r.task)] = float(r.value)
    return levels


def _per_seed(group: pd.DataFrame) -> dict[int, float]:
    """Seed -> value of one (model, task, shots): the aggregate's lists, else the seed files."""
    agg = group[group["seed"].isna()]
    if len(agg) and isinstance(agg["aggregate"].iloc[-1], dict):
        a = agg["aggregate"].iloc[-1]
        return {int(s): float(v) for s, v in zip(a["seeds"], a["values"], strict=True)}
    seeded = group[group["seed"].notna()]
    if len(seeded):
        return {int(s): float(v) for s, v in zip(seeded["seed"], seeded["value"], strict=True)}
    return {0: float(group["value"].iloc[-1])}


def few_shot_seeds(df: pd.DataFrame) -> dict[tuple[str, str, int], dict[int, float]]:
    """(model, task, shots > 0) -> {seed: value} of the few-shot results in ``df``."""
    fs = df[(df["suite"] == "few-shot") & df["shots"].notna()]
    fs = fs[fs["shots"] > 0]
    return {(m, t, int(k)): _per_seed(g) for (m, t, k), g in fs.groupby(["model", "task", "shots"])}


def _curve(by_shots: dict[int, dict[int, float]]) -> tuple[list[int], np.ndarray, np.ndarray, int]:
    """Shots, mean and sample std over seeds (0 with one seed), and the fewest seeds of a point."""
    shots = sorted(by_shots)
    vals = [np.array(list(by_shots[k].values())) for k in shots]
    mean = np.array([v.mean() for v in vals])
    std = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in vals])
    return shots, mean, std, min(len(v) for v in vals)


def _draw_curve(ax: Axes, by_shots: dict, zero: float | None, color: str, label: str) -> None:
    """Mean over seeds with a +-1 std band (when seeds > 1); zero-shot as the 0-shot point joined
    to the curve plus its dashed level line."""
    shots, mean, std, n_seeds = _curve(by_shots)
    if n_seeds > 1:
        ax.fill_between(shots, mean - std, mean + std, color=color, alpha=0.2, lw=0,
                        label="±1 std over seeds")  # fmt: skip
    xs, ys = (shots, mean) if zero is None else ([0, *shots], np.concatenate([[zero], mean]))
    ax.plot(xs, ys, marker="o", ms=3, color=color, label=label)
    if zero is not None:
        ax.scatter([0], [zero], marker=ZERO_SHOT_MARKER, s=90, color=color, edgecolors="black",
                   lw=0.4, zorder=5, label="zero-shot (0 shots)")  # fmt: skip
        ax.axhline(zero, color=color, ls="--", lw=0.8, label="zero-shot level")


def _average_curves(
    seeds: dict, levels: dict, model: str
) -> tuple[dict[int, dict[int, float]], float | None, list[str], list[str]]:
    """The per-seed mean over the tasks that have every shot count of ``model``."""
    mine = {(t, k): v for (m, t, k), v in seeds.items() if m == model}
    tasks = sorted({t for t, _ in mine})
    shots = sorted({k for _, k in mine})
    complete = [t for t in tasks if all((t, k) in mine for k in shots)]
    left_out = sorted(set(tasks) - set(complete))
    by_shots = {}
    for k in shots:
        common = set.intersection(*(set(mine[(t, k)]) for t in complete)) if complete else set()
        if common:
            by_shots[k] = {s: float(np.mean([mine[(t, k)][s] for t in complete])) for s in common}
    zs = [levels.get((model, t)) for t in complete]
    zero = float(np.mean(zs)) if zs and all(v is not None for v in zs) else None
    return by_shots, zero, complete, left_out


def _shot_axis(ax: Axes, shots: Sequence[int]) -> None:
    """Labelled examples per class: 0 (zero-shot) on a linear stretch, then log2."""
    ax.set_xscale("symlog", base=2, linthresh=1, linscale=0.6)
    ticks = sorted({0, *(int(k) for k in shots)})
    ax.set_xticks(ticks, [str(k) for k in ticks])
    ax.minorticks_off()
    ax.set_xlim(-0.3, max(ticks) * 1.25)
    ax.set_xlabel("labelled examples per class")
    ax.grid(True, color="#eeeeee", linewidth=0.6)


def _few_shot_average(ax: Axes, seeds: dict, levels: dict, colors: dict) -> list[str]:
    """The average panel; returns notes (tasks left out, missing zero-shot levels)."""
    notes, counts = [], set()
    for model in sorted({m for m, _, _ in seeds}):
        by_shots, zero, complete, left_out = _average_curves(seeds, levels, model)
        if left_out:
            notes.append(f"few-shot average: {model}: left out {', '.join(left_out)} "
                         "(not every shot count)")  # fmt: skip
        if not by_shots:
            continue
        if zero is None:
            notes.append(f"few-shot average: {model}: no zero-shot level (a task lacks it)")
        counts.add(len(complete))
        _draw_curve(ax, by_shots, zero, colors[model], model)
    n = counts.pop() if len(counts) == 1 else None
    ax.set_title(
        "Average over datasets" if n is None else f"Average over {n} dataset{'s' * (n > 1)}"
    )
    return notes


def _shared_ylim(seeds: dict, levels: dict) -> tuple[float, float]:
    """One y range for every panel (they compare): all means +- std and zero-shot levels."""
    lo, hi = [], []
    for by_seed in seeds.values():
        v = np.array(list(by_seed.values()))
        s = v.std(ddof=1) if len(v) > 1 else 0.0
        lo.append(v.mean() - s)
        hi.append(v.mean() + s)
    lo += list(levels.values())
    hi += list(levels.values())
    a, b = float(min(lo)), float(max(hi))
    pad = 0.06 * max(b - a, 5.0)
    return max(0.0, a - pad), min(100.0, b + pad)


@PLOTS.decorator("few-shot")
def plot_few_shot(df: pd.DataFrame, stem: Path, req: PlotRequest) -> PlotOutput:
    """Accuracy against labelled examples per class, averaged over datasets and per dataset.

    Solid: the few-shot linear probe (mean over seeds) with a +-1 std band over seeds; star at 0:
    the zero-shot score, dashed: its level. All panels share one y range.

    Raises:
        BenchError: if there are no few-shot results (for the requested tasks).
    """
    if req.tasks:
        df = df[df["task"].isin(list(req.tasks))]
    seeds = few_shot_seeds(df)
    if not seeds:
        raise BenchError(
            "no few-shot results" + (f" for {', '.join(req.tasks)}" if req.tasks else "")
            + f"; produce them with {_hint(df, 'few-shot')}"
        )  # fmt: skip
    models = sorted({m for m, _, _ in seeds})
    tasks = task_order({t for _, t, _ in seeds})
    levels = {k: v for k, v in _zero_shot_levels(df).items() if k[0] in models and k[1] in tasks}
    colors = figures.colors(sorted(df["model"].unique()))
    fig, axes = figures.figure_grid(len(tasks) + 1, 4, (3.6, 3.0), legend_rows=2)
    notes = _few_shot_average(axes[0], seeds, levels, colors)
    ylim = _shared_ylim(seeds, levels)
    for ax, task in zip(axes[1:], tasks, strict=True):
        for model in models:
            by_shots = {k: v for (m, t, k), v in seeds.items() if m == model and t == task}
            if by_shots:
                _draw_curve(ax, by_shots, levels.get((model, task)), colors[model], model)
        ax.set_title(task)
    all_shots = sorted({k for _, _, k in seeds})
    for ax in axes:
        _shot_axis(ax, all_shots)
        ax.set_ylim(ylim)
    axes[0].set_ylabel("score (%)")
    figures.legend_below(fig, axes, ncol=4)
    return _done(fig, stem, req, notes)


# --- signed bars: zero-shot vs linear probe, prompt ablation ------------------------------------


def _paired(df: pd.DataFrame, a: str, b: str, tasks: Sequence[str] | None) -> pd.DataFrame:
    """(model, task) x [a, b] values of two suites (collapsed over seeds), NaN where absent."""
    rows = collapse_seeds(df[df["suite"].isin([a, b])])
    if tasks:
        rows = rows[rows["task"].isin(list(tasks))]
    wide = rows.pivot_table(index=["model", "task"], columns="suite", values="value")
    return wide.reindex(columns=[a, b])


def _bars(
    both: pd.DataFrame, a: str, b: str, xlabel: str, legend: tuple[str, str]
) -> tuple[Figure, list[Axes]]:
    """One panel per model of sorted ``a - b`` bars, one shared x range, a sign legend below."""
    models = sorted(both.index.get_level_values("model").unique())
    diffs = {m: both.loc[m, a] - both.loc[m, b] for m in models}
    n_max = max(len(d) for d in diffs.values())
    xlim = figures.shared_limits([v for d in diffs.values() for v in d])
    height = figures.bar_panel_height(n_max)
    fig, axes = figures.figure_grid(len(models), 3, (5.2, height), left=1.55, legend_rows=1)
    for ax, model in zip(axes, models, strict=True):
        figures.signed_bars(ax, diffs[model], xlim, xlabel)
        ax.set_title(model)
    handles = [Patch(color=figures.POSITIVE), Patch(color=figures.NEGATIVE)]
    fig.legend(handles, list(legend), loc="lower center", ncol=2, frameon=False, fontsize=8)
    return fig, axes


def _pair_notes(kind: str, wide: pd.DataFrame, names: tuple[str, str]) -> list[str]:
    return [
        f"{kind}: {m}: {t} has only a {names[1] if np.isnan(r[0]) else names[0]} result"
        for (m, t), r in zip(wide.index, wide.to_numpy(), strict=True)
        if np.isnan(r).any()
    ]


@PLOTS.decorator("zs-vs-lp")
def plot_zs_vs_lp(df: pd.DataFrame, stem: Path, req: PlotRequest) -> PlotOutput:
    """Per model, zero-shot minus linear-probe score per dataset as sorted bars (Figure 5 style),
    green where zero-shot is better, blue where the probe is; one x range for all panels.

    Raises:
        BenchError: if no task has both a zero-shot and a linear-probe result for one model.
    """
    wide = _paired(df, "zero-shot", "linear-probe", req.tasks)
    both = wide.dropna()
    if both.empty:
        raise BenchError(
            "no task has both a zero-shot and a linear-probe result for the same model; produce "
            f"them with {_hint(df, 'zero-shot')} and {_hint(df, 'linear-probe')}"
        )
    notes = _pair_notes("zs-vs-lp", wide, ("zero-shot", "linear-probe"))
    fig, _ = _bars(both, "zero-shot", "linear-probe", "zero-shot minus linear probe (points)",
                   ("zero-shot better", "linear probe better"))  # fmt: skip
    return _done(fig, stem, req, notes)


@PLOTS.decorator("prompt-ablation")
def plot_prompt_ablation(df: pd.DataFrame, stem: Path, req: PlotRequest) -> PlotOutput:
    """Per model, the gain of the prompt ensemble over the single prompt "a photo of a {}." per
    dataset (the paper's Figure 4 ablation), as sorted bars.

    Raises:
        BenchError: if no task has both an ensemble and a single-prompt zero-shot result.
    """
    single = ZERO_SHOT_SUITES["single"]
    wide = _paired(df, "zero-shot", single, req.tasks)
    both = wide.dropna()
    if both.empty:
        raise BenchError(
            "no task has both an ensemble and a single-prompt zero-shot result for the same "
            f"model; produce them with {_hint(df, 'zero-shot')} and "
            f"{_hint(df, 'zero-shot', ' --prompts single')}"
        )
    notes = _pair_notes("prompt-ablation", wide, ("ensemble", "single-prompt"))
    fig, _ = _bars(both, "zero-shot", single, "ensemble minus single prompt (points)",
                   ("ensemble better", "single prompt better"))  # fmt: skip
    return _done(fig, stem, req, notes)
