"""Tables, plots and reports from a small fixture results folder (tests/fixtures_results)."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_results import ZERO_SHOT, make_results, write_future_schema
from PIL import Image

from bench import robustness
from bench.errors import BenchError
from bench.report import build_report, collect, select
from bench.report import plots as P
from bench.report import tables as T


@pytest.fixture
def results(tmp_path: Path) -> Path:
    return make_results(tmp_path / "results")


@pytest.fixture
def frame(results: Path) -> pd.DataFrame:
    return collect(results).frame


def test_zero_shot_table_shows_missing_cell_and_marks_incomplete_average(frame):
    table = T.suite_table(frame, "zero-shot")
    cells = table.cells()
    assert cells.loc["tiny-vit", "cifar100"] == T.MISSING
    full = np.mean(list(ZERO_SHOT["ViT-B/32"].values()))
    partial = np.mean(list(ZERO_SHOT["tiny-vit"].values()))  # cifar100 never averaged in
    assert cells.loc["ViT-B/32", "Avg (3 of 27)"] == f"{full:.1f}"
    assert cells.loc["tiny-vit", "Avg (3 of 27)"] == f"{partial:.1f}{T.INCOMPLETE}"
    md, tex, text = table.to_markdown(), table.to_latex(), table.to_csv()
    assert f"{partial:.1f}*" in md and T.MISSING in md and "Averages marked *" in md
    assert "--" in tex and "\\toprule" in tex and T.MISSING not in tex
    rows = {r["model"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows["tiny-vit"]["cifar100"] == ""
    assert rows["tiny-vit"]["Avg (3 of 27) (tasks)"] == "2/3"
    assert float(rows["ViT-B/32"]["Avg (3 of 27)"]) == pytest.approx(full, abs=1e-3)


def test_linear_probe_table_has_the_papers_averages(frame):
    table = T.suite_table(frame, "linear-probe")
    # 2 of the 27 (and of Kornblith's 12) present: the headers say so, never "Avg 27 (paper)"
    assert set(table.averages) == {"Avg (2 of 27)", "Avg (2 of 12, Kornblith)"}
    mean, n = table.average("Avg (2 of 12, Kornblith)")
    assert n["ViT-B/32"] == 2 and mean["ViT-B/32"] == pytest.approx((95.1 + 80.5) / 2)


def test_few_shot_table_averages_seeds(frame):
    cells = T.suite_table(frame, "few-shot").cells()
    assert cells.loc["ViT-B/32 (1-shot)", "cifar10"] == "62.0"
    assert cells.loc["ViT-B/32 (4-shot)", "cifar100"] == T.MISSING


def test_collapse_seeds_prefers_the_across_seed_aggregate():
    base = {"model": "m", "task": "t", "suite": "few-shot", "shots": 4, "metric": "accuracy"}
    df = pd.DataFrame(
        [
            {**base, "seed": 0, "value": 10.0, "metrics": {}},
            {**base, "seed": 1, "value": 20.0, "metrics": {}},
            {**base, "seed": None, "value": 16.0, "metrics": {}},
        ]
    )
    assert T.collapse_seeds(df)["value"].tolist() == [16.0]
    assert T.collapse_seeds(df[df["seed"].notna()])["value"].tolist() == [15.0]


def test_effective_robustness_table_matches_the_module(frame):
    table = T.effective_robustness_table(frame)
    row = robustness.testbed().loc["vit_b_32_clip_zeroshot"]
    for shift in robustness.SHIFTS:
        spec = robustness.get_spec(shift)
        expected = robustness.effective_robustness(shift, row[spec.x_column], row[spec.y_column])
        assert table.values.loc["ViT-B/32", shift] == pytest.approx(expected)
    avg = robustness.average_point(
        {
            s: (row[robustness.get_spec(s).x_column], row[robustness.get_spec(s).y_column])
            for s in robustness.SHIFTS
        }
    )
    expected = robustness.effective_robustness("average", *avg)
    assert table.values.loc["ViT-B/32", "Average"] == pytest.approx(expected)
    # tiny-vit has 2 of 7 shifts: no average, never a partial one
    assert np.isnan(table.values.loc["tiny-vit", "Average"])
    assert table.cells().loc["tiny-vit", "objectnet"] == T.MISSING


def test_published_comparison_against_openclip_csv(frame):
    path = resources.files("bench.data.published").joinpath("openclip_results.csv")
    with path.open(encoding="utf-8") as f:
        row = next(
            r for r in csv.DictReader(f) if (r["name"], r["pretrained"]) == ("ViT-B-32", "openai")
        )
    table = T.published_table(frame)
    got = table.values.loc["ViT-B/32 / cifar100"]
    assert got["published"] == pytest.approx(float(row["CIFAR-100"]) * 100)
    assert got["ours"] == ZERO_SHOT["ViT-B/32"]["cifar100"]
    assert got["difference"] == pytest.approx(got["ours"] - got["published"])
    # the shifts come from the robustness suite (zero-shot head)
    assert table.values.loc["ViT-B/32 / objectnet", "published"] == pytest.approx(
        float(row["ObjectNet"]) * 100
    )
    assert not any(i.startswith("tiny-vit") for i in table.values.index)  # not an OpenAI model
    assert T.published_table(frame[frame["model"] == "tiny-vit"]) is None


def _check_png(path: Path, size: tuple[int, int]) -> None:
    with Image.open(path) as im:
        assert im.size == size
        grey = np.asarray(im.convert("L"))
    assert (grey < 250).mean() > 0.01  # something is drawn


def _check_svg(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    assert ET.fromstring(text).tag.endswith("svg")
    return text


@pytest.mark.parametrize(
    ("kind", "request_", "size"),
    [
        ("effective-robustness", P.PlotRequest(shifts=("imagenet_r",), n_boot=50), (840, 890)),
        ("few-shot", P.PlotRequest(), (2160, 730)),
        ("zs-vs-lp", P.PlotRequest(), (2080, 570)),
    ],
)
def test_plots_render_to_images_of_the_expected_size(frame, tmp_path, kind, request_, size):
    out = P.PLOTS.get(kind)(frame, tmp_path / kind, request_)
    assert [p.suffix for p in out.paths] == [".png", ".svg"]
    assert out.size == size
    _check_png(out.paths[0], size)
    _check_svg(out.paths[1])


def test_effective_robustness_plot_says_why_a_fit_is_absent(frame, tmp_path):
    req = P.PlotRequest(shifts=("imagenet_r", "objectnet"), n_boot=20)
    out = P.plot_effective_robustness(frame, tmp_path / "er", req)
    assert out.size == (1680, 890)
    assert any("no line through your models on ImageNet-R, ObjectNet" in n for n in out.notes)
    # the reason is also written in the figure (matplotlib's SVG keeps each text as a comment)
    svg = _check_svg(out.paths[1])
    assert svg.count("<!-- no line through your models") == 2
    with pytest.raises(BenchError, match="unknown head 'both'"):
        P.plot_effective_robustness(frame, tmp_path / "x", P.PlotRequest(head="both"))


def test_plots_without_data_name_the_command(frame, tmp_path):
    tiny = frame[frame["model"] == "tiny-vit"]
    with pytest.raises(BenchError, match="bench run --model tiny-vit --suite few-shot"):
        P.plot_few_shot(tiny, tmp_path / "fs", P.PlotRequest())
    only_zs = frame[frame["suite"] == "zero-shot"]
    with pytest.raises(BenchError, match="--suite linear-probe"):
        P.plot_zs_vs_lp(only_zs, tmp_path / "z", P.PlotRequest())


def test_report_is_byte_identical_on_rerun_and_links_every_file(results, tmp_path):
    a = build_report(results, tmp_path / "a", n_boot=50)
    b = build_report(results, tmp_path / "b", n_boot=50)
    assert a == b
    files_a = sorted(
        p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file()
    )
    files_b = sorted(
        p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file()
    )
    assert files_a == files_b and len(files_a) > 10
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    index = (tmp_path / "a" / "index.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\]\(([^)]+)\)", index))
    assert links == {r.as_posix() for r in files_a} - {"index.md", "summary.json"}
    summary = json.loads((tmp_path / "a" / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["plots"]) == {"effective-robustness", "few-shot", "zs-vs-lp"}
    # the full effective-robustness figure: the average and the 7 shifts, 4 panels a row
    _check_png(tmp_path / "a" / "plots" / "effective-robustness.png", (3360, 1650))
    assert summary["tables"]["zero-shot"]["values"]["tiny-vit"]["cifar100"] is None


def test_mixed_schema_versions_are_reported_per_file(results, tmp_path):
    write_future_schema(results)
    old = results / "old-model" / "cifar10" / "zero-shot.json"
    old.parent.mkdir(parents=True)
    d = json.loads((results / "ViT-B-32" / "cifar10" / "zero-shot.json").read_text())
    old.write_text(json.dumps({**d, "schema_version": 0}), encoding="utf-8")
    data = collect(results)
    reasons = dict(data.problems)
    assert "newer than this bench" in reasons["future-model/cifar10/zero-shot.json"]
    assert "no migration" in reasons["old-model/cifar10/zero-shot.json"]
    summary = build_report(results, tmp_path / "r", suites=["zero-shot"])
    assert {s["path"] for s in summary["files"]["skipped"]} == set(reasons)
    index = (tmp_path / "r" / "index.md").read_text(encoding="utf-8")
    assert "skipped future-model/cifar10/zero-shot.json" in index


def test_select_names_found_models_and_the_run_command(results):
    data = collect(results)
    with pytest.raises(BenchError) as e:
        select(data, models=["ViT-L/14"])
    msg = str(e.value)
    assert "ViT-L/14" in msg and "found results for: ViT-B/32, tiny-vit" in msg
    assert f"bench run --model ViT-L/14 --suite zero-shot --out {results}" in msg
    with pytest.raises(BenchError, match="no few-shot results for tiny-vit"):
        select(data, models=["tiny-vit"], suites=["few-shot"])
    assert set(select(data, models=["ViT-B-32"]).frame["model"]) == {"ViT-B/32"}  # by slug
    with pytest.raises(BenchError, match="does not exist"):
        collect(results / "nope")


def test_assumed_architectures_are_shown_in_the_report(tmp_path):
    from fixtures_results import _result

    from bench.report import build_report
    from bench.results import write_result

    said = "activation QuickGELU assumed (OpenAI's; open_clip's non-quickgelu models use GELU)"
    write_result(_result("plain", "cifar10", "zero-shot", 50.0, assumptions=[said]), tmp_path / "r")
    write_result(_result("known", "cifar10", "zero-shot", 60.0), tmp_path / "r")
    build_report(tmp_path / "r", tmp_path / "out")
    index = (tmp_path / "out" / "index.md").read_text()
    assert f"plain: architecture assumed, not known: {said}" in index
    assert "known: architecture assumed" not in index
