"""``benchmarks/gpu.py --quick`` keeps working: every section runs on the CPU at tiny sizes and
the JSON holds each figure (the GPU run itself is a manual step; its table is in the docs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu.py"


def test_gpu_benchmark_quick_writes_every_section(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json-out", str(out), "--workers", "0"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["skipped_for_time"] == []
    rows = report["rows"]
    image = {(r["input"], r["precision"]) for r in rows if r["section"] == "image"}
    assert image == {("tensors", "fp16"), ("tensors", "bf16"), ("jpeg, cpu decode", "fp16"),
                     ("jpeg, gpu decode", "fp16")}  # fmt: skip
    for r in rows:
        if r["section"] == "image":
            assert r["items"] > 0 and 0 < r["fraction"] == r["per_s"] / r["bound"]
    (text,) = [r for r in rows if r["section"] == "text"]
    assert text["items"] == 2 * 80 and text["per_s"] > 0  # 2 classes x ImageNet's 80 templates
    (probe,) = [r for r in rows if r["section"] == "probe"]
    assert probe["fits"] >= 1 and probe["seconds_per_iteration"] > 0 and probe["seconds"] > 0
    (train,) = [r for r in rows if r["section"] == "train"]
    assert train["per_s"] > 0 and 0 < train["mfu"]
    assert set(report["targets"]) == {"jpeg", "tensors", "search"}
    assert all(t["met"] is None for t in report["targets"].values())  # --quick judges nothing
    assert "target: ViT-B/32 from JPEG" in done.stdout
