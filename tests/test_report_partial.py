"""Results on partial data are marked in every report table, with a footnote."""

from __future__ import annotations

from pathlib import Path

from fixtures_results import _result

from bench.report.collect import collect
from bench.report.tables import PARTIAL, suite_table
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
