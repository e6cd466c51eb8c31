"""`bench tasks` says whether each task's data is complete: yes, partial (n of N), or no."""

from __future__ import annotations

from pathlib import Path

from bench.cli.tasks import data_status
from bench.tasks import get_task


def test_data_status_counts_items_without_decoding(tmp_path: Path):
    eurosat = get_task("eurosat")
    assert data_status(eurosat, str(tmp_path)) == "no"
    folder = tmp_path / "eurosat" / "2750" / "River"
    folder.mkdir(parents=True)
    # not images at all: counting must never open them. 1,000 go to train, which cannot
    # give the 1,000-image val carve (so train and val count as empty), 3 to test
    for i in range(1003):
        (folder / f"River_{i + 1}.jpg").write_bytes(b"not a jpeg")
    total = sum(eurosat.expected_sizes().values())
    assert data_status(eurosat, str(tmp_path)) == f"partial (3 of {total:,})"
    assert data_status(get_task("digits"), str(tmp_path)) == "yes"  # embedded: complete
