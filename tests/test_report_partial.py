"""Results on partial data are marked in every report table, with a footnote."""

from __future__ import annotations

from pathlib import Path

from fixtures_results import _result

from bench.report.collect import collect
from bench.report.tables import MIRROR, PARTIAL, suite_table
from bench.results import write_result


def test_partial_results_are_marked_with_a_footnote(tmp_path: Path):
    write_result(_result("m", "cifar10", "zero-shot", 50.0), tmp_path)
    write_result(
        _result("m", "eurosat", "zero-shot", 100.0, partial=True, n_found={"test": 3},
                n_expected={"test": 5000}),
        tmp_path,
    )  # fmt: skip
    for shots in (1, 2):
        write_result(_result("m", "eurosat", "few-shot", 40.0, shots=shots, partial=True), tmp_path)
    df = collect(tmp_path).frame
    zs = suite_table(df, "zero-shot").to_markdown()
    assert f"100.0{PARTIAL}" in zs and f"50.0{PARTIAL}" not in zs
    assert "partial data" in zs and "--allow-partial" in zs
    fs = suite_table(df, "few-shot").to_markdown()
    assert f"40.0{PARTIAL}" in fs and "partial data" in fs
    complete = tmp_path / "complete"
    write_result(_result("m", "cifar10", "zero-shot", 50.0), complete)
    assert "partial data" not in suite_table(collect(complete).frame, "zero-shot").to_markdown()


def test_a_mirror_split_that_is_not_the_papers_is_marked(tmp_path: Path):
    """Issue 13, point 4: a value read from a Hugging Face mirror split that differs from the
    paper's (or is not known to equal it) is marked in tables, with the split named."""
    mirror = {"data_source": "hf-mirror", "mirror_splits": "test=differs,train=same"}
    same = {"data_source": "hf-mirror", "mirror_splits": "test=same,train=unknown"}
    write_result(_result("m", "cifar10", "zero-shot", 50.0, extra={"data_source": "official"},
                         split_sizes={"test": 10}), tmp_path)  # fmt: skip
    write_result(_result("m", "eurosat", "zero-shot", 60.0, extra=mirror,
                         split_sizes={"test": 10}), tmp_path)  # fmt: skip
    # zero-shot reads only test, which is the paper's: not marked
    write_result(_result("m", "fer2013", "zero-shot", 70.0, extra=same,
                         split_sizes={"test": 10}), tmp_path)  # fmt: skip
    # the probe's val is carved from train, whose equality with the paper's is unknown
    write_result(_result("m", "fer2013", "linear-probe", 80.0, extra=same,
                         split_sizes={"train": 9, "val": 1, "test": 10}), tmp_path)  # fmt: skip
    df = collect(tmp_path).frame
    zs = suite_table(df, "zero-shot").to_markdown()
    assert f"60.0{MIRROR}" in zs
    assert f"50.0{MIRROR}" not in zs and f"70.0{MIRROR}" not in zs
    assert "eurosat: test differs" in zs and "Hugging Face mirror" in zs and "fer2013:" not in zs
    lp = suite_table(df, "linear-probe").to_markdown()
    assert f"80.0{MIRROR}" in lp and "fer2013: train unknown" in lp
    # the row's average over the tasks present carries the mark of a member
    avg = [line for line in zs.splitlines() if line.startswith("| m ")][0]
    assert avg.rstrip(" |").endswith(MIRROR)
    official = tmp_path / "official"
    write_result(_result("m", "eurosat", "zero-shot", 60.0, extra={"data_source": "official"}),
                 official)  # fmt: skip
    assert MIRROR not in suite_table(collect(official).frame, "zero-shot").to_markdown()
