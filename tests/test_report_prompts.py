"""The prompt ablation in reports (issue 12.3's report half): zero-shot results per prompt mode.

Convention: a zero-shot result's ``prompts["mode"]`` is ensemble (absent), single or classname,
in ``zero-shot.json``, ``zero-shot-single.json`` and ``zero-shot-classname.json``.
"""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_results import (
    PROMPT_MODES,
    ZERO_SHOT,
    make_results,
    prompt_mode_result,
    write_prompt_modes,
    write_result_as,
)

from bench.report import build_report, collect, select
from bench.report import plots as P
from bench.report import tables as T


@pytest.fixture
def results(tmp_path):
    return write_prompt_modes(make_results(tmp_path / "results"))


def test_modes_are_read_as_their_own_suites_and_never_mix_into_zero_shot(results):
    frame = collect(results).frame
    zs = T.suite_table(frame, "zero-shot").values
    for model, tasks in ZERO_SHOT.items():
        for task, value in tasks.items():
            assert zs.loc[model, task] == value  # the ensemble's, not a single prompt's
    single = frame[frame["suite"] == "zero-shot-single"]
    assert set(single["prompt_mode"]) == {"single"}
    assert len(single) == sum(len(m["single"]) for m in PROMPT_MODES.values())
    published = T.published_table(frame).values
    assert published.loc["ViT-B/32 / cifar10", "ours"] == ZERO_SHOT["ViT-B/32"]["cifar10"]


def test_a_file_whose_name_disagrees_with_its_mode_is_skipped_with_the_reason(results):
    r = prompt_mode_result("ViT-B/32", "stl10", "single", 90.0)
    write_result_as(r, results, "zero-shot")  # a single-prompt result in the ensemble's file
    bad = prompt_mode_result("ViT-B/32", "stl10", "single", 90.0)
    bad.prompts["mode"] = "fancy"
    write_result_as(bad, results, "zero-shot-fancy")
    data = collect(results)
    reasons = dict(data.problems)
    assert (
        "belongs in zero-shot-single.json, not zero-shot.json"
        in reasons["ViT-B-32/stl10/zero-shot.json"]
    )
    assert (
        "prompts mode 'fancy' is not one of ensemble, single, classname"
        in reasons["ViT-B-32/stl10/zero-shot-fancy.json"]
    )
    assert "stl10" not in set(data.frame["task"])


def test_ablation_table_gives_each_mode_and_the_gain_over_the_single_prompt(results):
    table = T.prompt_ablation_table(collect(results).frame)
    v = table.values
    for task, single in PROMPT_MODES["ViT-B/32"]["single"].items():
        ensemble = ZERO_SHOT["ViT-B/32"][task]
        assert v.loc["ViT-B/32 / single", task] == single
        assert v.loc["ViT-B/32 / ensemble", task] == ensemble
        assert v.loc["ViT-B/32 / gain (ensemble - single)", task] == pytest.approx(
            ensemble - single
        )
    assert (
        v.loc["ViT-B/32 / classname", "imagenet"]
        == PROMPT_MODES["ViT-B/32"]["classname"]["imagenet"]
    )
    assert "tiny-vit / classname" not in v.index
    gains = [ZERO_SHOT["ViT-B/32"][t] - s for t, s in PROMPT_MODES["ViT-B/32"]["single"].items()]
    mean, _ = table.average("Average")
    assert mean["ViT-B/32 / gain (ensemble - single)"] == pytest.approx(np.mean(gains))


def test_no_ablation_table_or_plot_without_other_modes(tmp_path):
    frame = collect(make_results(tmp_path / "r")).frame
    assert T.prompt_ablation_table(frame) is None
    with pytest.raises(Exception, match="--suite zero-shot --prompts single"):
        P.plot_prompt_ablation(frame, tmp_path / "p", P.PlotRequest())


def test_ablation_plot_bars_are_the_gains(results, tmp_path):
    out = P.plot_prompt_ablation(collect(results).frame, tmp_path / "p", P.PlotRequest())
    ax = next(a for a in out.figure.axes if a.get_title() == "ViT-B/32")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = dict(zip(labels, [b.get_width() for b in ax.patches], strict=True))
    for task, single in PROMPT_MODES["ViT-B/32"]["single"].items():
        assert widths[task] == pytest.approx(ZERO_SHOT["ViT-B/32"][task] - single)


def test_report_has_the_ablation_and_suite_zero_shot_keeps_the_modes(results, tmp_path):
    summary = build_report(results, tmp_path / "r", suites=["zero-shot"], n_boot=20)
    assert "prompt-ablation" in summary["tables"] and "prompt-ablation" in summary["plots"]
    assert {"zero-shot", "zero-shot-single", "zero-shot-classname"} <= set(summary["suites"])
    kept = select(collect(results), suites=["zero-shot"]).frame
    assert set(kept["suite"]) == {"zero-shot", "zero-shot-single", "zero-shot-classname"}
