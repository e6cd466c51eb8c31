"""Publication quality of every plot and table (issue 12.4), on the result fixtures.

Properties asserted: text of at least 8 pt on every text artist, PNG at 200 dpi of the figure's
size, an SVG beside every PNG, legends outside every axes, the few-shot seed band and zero-shot
point, one range where panels compare, bars for 27 labels coloured by sign, LaTeX alignment,
caption and label, and the "Avg" header rule.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from fixtures_results import FEW_SHOT, ZERO_SHOT, make_results, write_prompt_modes
from matplotlib.collections import PolyCollection
from PIL import Image

from bench.report import collect
from bench.report import figures as F
from bench.report import plots as P
from bench.report import tables as T
from bench.tasks import list_tasks

REQUESTS = {"effective-robustness": P.PlotRequest(n_boot=20)}


@pytest.fixture(scope="module")
def frame(tmp_path_factory) -> pd.DataFrame:
    root = make_results(tmp_path_factory.mktemp("results"))
    return collect(write_prompt_modes(root)).frame


@pytest.fixture(scope="module")
def drawn(frame, tmp_path_factory) -> dict[str, P.PlotOutput]:
    out = tmp_path_factory.mktemp("plots")
    return {
        k: P.PLOTS.get(k)(frame, out / k, REQUESTS.get(k, P.PlotRequest())) for k in P.PLOTS.names()
    }


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_every_plot_kind_is_drawn(drawn):
    assert set(drawn) == set(P.PLOTS.names()) and "prompt-ablation" in drawn


@pytest.mark.parametrize("kind", P.PLOTS.names())
def test_every_text_is_at_least_8_pt(drawn, kind):
    assert F.small_fonts(drawn[kind].figure) == []


@pytest.mark.parametrize("kind", P.PLOTS.names())
def test_png_is_200_dpi_at_the_figure_size_with_an_svg_beside_it(drawn, kind):
    out = drawn[kind]
    png, svg = out.paths
    assert (png.suffix, svg.suffix) == (".png", ".svg") and svg.stat().st_size > 0
    w, h = out.figure.get_size_inches()
    with Image.open(png) as im:
        assert im.size == (round(w * 200), round(h * 200))
        assert im.info["dpi"] == pytest.approx((200, 200), abs=0.01)


@pytest.mark.parametrize("kind", P.PLOTS.names())
def test_legends_sit_outside_every_axes(drawn, kind):
    fig = drawn[kind].figure
    fig.canvas.draw()
    assert fig.legends, "a figure legend explains the marks"
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert all(ax.get_legend() is None for ax in axes)  # no legend drawn over data
    box = fig.legends[0].get_window_extent()
    for ax in axes:
        assert not _overlap(box, ax.get_tightbbox()), ax.get_title()


def _band(ax) -> PolyCollection | None:
    bands = [c for c in ax.collections if c.get_label() == "±1 std over seeds"]
    return bands[0] if bands else None


def test_few_shot_band_is_one_std_over_seeds_and_zero_shot_is_the_0_shot_point(drawn):
    fig = drawn["few-shot"].figure
    ax = next(a for a in fig.axes if a.get_title() == "cifar10")
    verts = _band(ax).get_paths()[0].vertices
    for k, values in FEW_SHOT["ViT-B/32"]["cifar10"].items():
        v = np.array(values)
        at_k = verts[np.isclose(verts[:, 0], k), 1]
        assert at_k.min() == pytest.approx(v.mean() - v.std(ddof=1))
        assert at_k.max() == pytest.approx(v.mean() + v.std(ddof=1))
    curve = next(line for line in ax.get_lines() if line.get_label() == "ViT-B/32")
    assert curve.get_xdata()[0] == 0 and curve.get_ydata()[0] == ZERO_SHOT["ViT-B/32"]["cifar10"]
    level = next(line for line in ax.get_lines() if line.get_label() == "zero-shot level")
    assert set(level.get_ydata()) == {ZERO_SHOT["ViT-B/32"]["cifar10"]}
    star = next(c for c in ax.collections if c.get_label() == "zero-shot (0 shots)")
    assert star.get_offsets().tolist() == [[0, ZERO_SHOT["ViT-B/32"]["cifar10"]]]


def test_few_shot_has_no_band_with_one_seed(frame, tmp_path):
    one = frame[(frame["suite"] != "few-shot") | (frame["seed"] == 0)]
    fig = P.plot_few_shot(one, tmp_path / "fs", P.PlotRequest()).figure
    assert all(_band(ax) is None for ax in fig.axes)


def test_panels_that_compare_share_one_range(drawn):
    fs = [ax.get_ylim() for ax in drawn["few-shot"].figure.axes if ax.get_visible()]
    assert len(fs) == 3 and len(set(fs)) == 1
    for kind in ("zs-vs-lp", "prompt-ablation"):
        xs = [ax.get_xlim() for ax in drawn[kind].figure.axes if ax.get_visible()]
        assert len(xs) == 2 and len(set(xs)) == 1, kind


def _paper27_frame() -> pd.DataFrame:
    tasks = [t.name for t in list_tasks("paper27")]
    rows = []
    for i, task in enumerate(tasks):
        zs, lp = 50.0 + i, 60.0 + (i % 5) * 4  # both signs among the differences
        for suite, v in (("zero-shot", zs), ("linear-probe", lp)):
            rows.append({"model": "m", "task": task, "suite": suite, "shots": None, "seed": None,
                         "metric": "accuracy", "value": v, "metrics": {}})  # fmt: skip
    return pd.DataFrame(rows)


def test_zs_vs_lp_reads_27_labels_coloured_by_sign(tmp_path):
    df = _paper27_frame()
    assert df["task"].nunique() == 27
    out = P.plot_zs_vs_lp(df, tmp_path / "z", P.PlotRequest())
    fig, ax = out.figure, out.figure.axes[0]
    assert F.small_fonts(fig) == []
    fig.canvas.draw()
    labels = [t for t in ax.get_yticklabels() if t.get_text()]
    assert len(labels) == 27
    boxes = sorted((t.get_window_extent() for t in labels), key=lambda b: b.y0)
    assert all(a.y1 <= b.y0 for a, b in zip(boxes, boxes[1:], strict=False))  # no overlap
    wide = df.pivot(index="task", columns="suite", values="value")
    diff = (wide["zero-shot"] - wide["linear-probe"]).to_dict()
    for bar, label in zip(ax.patches, [t.get_text() for t in ax.get_yticklabels()], strict=True):
        assert bar.get_width() == pytest.approx(diff[label])
        want = F.POSITIVE if diff[label] >= 0 else F.NEGATIVE
        assert mcolors.same_color(bar.get_facecolor(), want), label


def test_latex_left_aligns_the_model_column_with_caption_and_label(frame):
    tex = T.suite_table(frame, "zero-shot").to_latex()
    lines = tex.splitlines()
    assert lines[0] == "\\begin{table}[t]" and lines[-1] == "\\end{table}"
    assert "\\begin{tabular}{lrrrr}" in lines
    assert any(line.startswith("\\caption{zero-shot, prompt ensemble (percent).") for line in lines)
    assert "\\label{tab:zero-shot}" in lines
    md = T.suite_table(frame, "zero-shot").to_markdown()
    assert md.splitlines()[1].startswith("|:---") or md.splitlines()[1].startswith("|---")


def test_avg_27_header_only_over_all_27(frame):
    few = T.suite_table(frame, "zero-shot")
    assert "Avg 27 (paper)" not in few.averages and few.averages["Avg (3 of 27)"] == (
        "imagenet",
        "cifar10",
        "cifar100",
    )
    full = T.suite_table(_paper27_frame().assign(model="m"), "zero-shot")
    assert set(full.averages) == {"Avg 27 (paper)"}
    mean, n = full.average("Avg 27 (paper)")
    expected = np.mean([50.0 + i for i in range(27)])
    assert n["m"] == 27 and mean["m"] == pytest.approx(expected)
    assert not full.cells().loc["m", "Avg 27 (paper)"].endswith(T.INCOMPLETE)


def test_a_table_with_tasks_outside_the_27_keeps_its_own_average(frame):
    df = frame[frame["suite"] == "zero-shot"].copy()
    df.loc[df["task"] == "cifar10", "task"] = "digits"  # not one of the paper's 27
    table = T.suite_table(df, "zero-shot")
    assert set(table.averages) == {"Average", "Avg (2 of 27)"}


def test_save_refuses_an_unknown_format(tmp_path):
    fig, _ = F.figure_grid(1, 1, (2.0, 2.0))
    with pytest.raises(Exception, match="unknown plot format 'jpg'; valid choices: png, svg"):
        F.save(fig, Path(tmp_path) / "x", ("jpg",))
