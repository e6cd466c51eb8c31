"""Reports of retrieval results and of intervals: the Table 13 layout, `--ci` cells, and the
published comparison saying whether the published number lies inside our interval."""

from __future__ import annotations

import csv
import dataclasses
from importlib import resources
from pathlib import Path

import pytest
from fixtures_results import _result
from scipy.stats import beta

from bench.report import build_report, collect
from bench.report import tables as T
from bench.results import write_result

PAPER = {}  # (task, metric) -> the paper's Table 13 number, read from the shipped CSV
with resources.files("bench.data.published").joinpath("clip_paper_retrieval.csv").open() as f:
    for row in csv.DictReader(f):
        if row["source"].startswith("Radford") and row["model"] == "ViT-L/14@336px":
            PAPER[(row["task"], row["metric"])] = float(row["value"])


def _retrieval(task: str, shift: float, ci: tuple[float, float]) -> object:
    parts = {m: v + shift for (t, m), v in PAPER.items() if t == task}
    value = (parts["text_retrieval_R@1"] + parts["image_retrieval_R@1"]) / 2
    ci_d = {"level": 0.995, "low": ci[0], "high": ci[1], "method": "bootstrap",
            "resamples": 1000, "seed": 0}  # fmt: skip
    r = _result("ViT-L/14@336px", task, "retrieval", value,
                metrics={**parts, "retrieval_recall": value}, n=1000, ci=ci_d)  # fmt: skip
    return dataclasses.replace(r, top1=None, metric="retrieval_recall")


def _accuracy(k: int, n: int) -> object:
    low, high = 100 * beta.ppf(0.0025, k, n - k + 1), 100 * beta.ppf(0.9975, k + 1, n - k)
    ci = {"level": 0.995, "low": low, "high": high, "method": "clopper-pearson"}
    return _result("ViT-L/14@336px", "cifar10", "zero-shot", 100 * k / n, n=n, ci=ci)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    mean_r1 = (PAPER[("flickr30k", "text_retrieval_R@1")] + PAPER[("flickr30k",
               "image_retrieval_R@1")]) / 2  # fmt: skip
    write_result(_retrieval("flickr30k", 0.5, (mean_r1 - 1, mean_r1 + 2)), root)  # inside
    write_result(_retrieval("mscoco", -3.0, (40.0, 45.0)), root)  # paper's mean outside
    write_result(_accuracy(9530, 10000), root)
    return root


def test_retrieval_table_has_recall_at_1_5_10_both_ways(results: Path):
    table = T.suite_table(collect(results).frame, "retrieval")
    row = table.values.loc["ViT-L/14@336px"]
    assert row["flickr30k text R@5"] == pytest.approx(PAPER[("flickr30k", "text_retrieval_R@5")]
                                                      + 0.5)  # fmt: skip
    assert row["mscoco image R@10"] == pytest.approx(PAPER[("mscoco", "image_retrieval_R@10")] - 3)
    assert len(table.values.columns) == 12


def test_published_comparison_covers_retrieval_and_says_whether_inside_our_interval(results):
    table = T.published_table(collect(results).frame)
    v = table.values
    flickr = "ViT-L/14@336px / flickr30k retrieval_recall (paper)"
    coco = "ViT-L/14@336px / mscoco retrieval_recall (paper)"
    assert v.loc[flickr, "in CI"] == "yes" and v.loc[coco, "in CI"] == "no"
    part = "ViT-L/14@336px / mscoco text_retrieval_R@5 (paper)"
    assert v.loc[part, "published"] == PAPER[("mscoco", "text_retrieval_R@5")]
    assert v.loc[part, "difference"] == pytest.approx(-3.0) and v.loc[part, "in CI"] == T.MISSING
    bench_row = "ViT-L/14@336px / flickr30k image_retrieval_R@5 (CLIP_benchmark)"
    assert v.loc[bench_row, "published"] == pytest.approx(88.9)
    # CIFAR-10: open_clip's published value against our Clopper-Pearson interval
    cifar = v.loc["ViT-L/14@336px / cifar10"]
    lo, hi = 100 * beta.ppf(0.0025, 9530, 471), 100 * beta.ppf(0.9975, 9531, 470)
    assert cifar["in CI"] == ("yes" if lo <= cifar["published"] <= hi else "no")


def test_report_ci_option_shows_intervals(results: Path, tmp_path: Path):
    build_report(results, tmp_path / "plain")
    build_report(results, tmp_path / "ci", ci=True)
    plain = (tmp_path / "plain" / "tables" / "zero-shot.md").read_text()
    shown = (tmp_path / "ci" / "tables" / "zero-shot.md").read_text()
    lo, hi = 100 * beta.ppf(0.0025, 9530, 471), 100 * beta.ppf(0.9975, 9531, 470)
    assert f"95.3 [{lo:.1f}, {hi:.1f}]" in shown and "[" not in plain.split("\n")[2]
    assert "99.5% interval" in shown
    assert (tmp_path / "ci" / "tables" / "retrieval.md").exists()
