"""End to end: `bench run --model <tiny.pt> --tasks digits --suite all` through bench.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from eval_fixtures import _one_thread, run_cli, run_json, save_tiny  # noqa: F401

from bench import features
from bench.io import sha256_file
from bench.protocols.few_shot import SEEDS, SHOTS
from bench.results import SCHEMA_VERSION, read_result
from bench.suites import SUITES, leaf_suites
from bench.tasks import get_task


def expected_files() -> list[str]:
    names = ["zero-shot.json", "linear-probe.json", "few-shot-0shot.json"]
    for k in SHOTS:
        names.append(f"few-shot-{k}shot.json")
        names += [f"few-shot-{k}shot-seed{s}.json" for s in SEEDS]
    return sorted(names)


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_tiny(tmp_path / "tiny.pt")


def _run_all(ckpt: Path, out: Path, *extra: str) -> dict:
    return run_json(
        "run", "--model", str(ckpt), "--tasks", "digits", "--suite", "all", "--out", str(out),
        "--workers", "0", "--batch-size", "128", "--quiet", *extra,
    )  # fmt: skip


def test_suite_all_on_digits_writes_valid_results_then_skips(ckpt: Path, tmp_path: Path):
    out = tmp_path / "results"
    features.STATS.clear()
    summary = _run_all(ckpt, out)
    folder = out / "tiny" / "digits"
    assert sorted(p.name for p in folder.iterdir()) == expected_files()
    assert len(summary["written"]) == len(expected_files())
    task = get_task("digits")
    not_for_digits = [s.name for s in leaf_suites(SUITES.get("all")) if not s.accepts(task)]
    assert {"robustness", "retrieval"} <= set(not_for_digits)
    assert summary["not_applicable"] == [{"suite": s, "task": "digits"} for s in not_for_digits]
    # three splits extracted once each, then reused by every suite
    assert features.STATS["cache_misses"] == 3
    assert features.STATS["extracted_images"] == 1797  # digits: 1,080 + 120 + 597

    task = get_task("digits")
    sha = sha256_file(ckpt)
    results = {p.name: read_result(p) for p in folder.iterdir()}
    for r in results.values():
        assert r.schema_version == SCHEMA_VERSION
        assert r.weights_sha256 == sha
        assert (r.task, r.task_version, r.task_config_hash) == (
            "digits",
            task.version,
            task.config_hash,
        )
        assert 0.0 <= r.value <= 100.0 and r.metric == "accuracy"
        assert r.timings["total"] >= 0 and r.precision == "fp32" and r.device == "cpu"

    zs = results["zero-shot.json"]
    assert all(r.model == "tiny" and r.model_slug == "tiny" for r in results.values())
    assert zs.prompts == {
        "classnames": list(task.classnames), "templates": list(task.templates), "mode": "ensemble"
    }  # fmt: skip
    for name, r in results.items():  # an interval in every result; aggregates have their std
        if r.aggregate is not None:
            assert r.ci is None and r.n is None, name
        else:
            assert r.n == 597 and r.ci["method"] == "clopper-pearson", name
            assert r.ci["low"] <= r.value <= r.ci["high"], name
    assert zs.split_sizes == {"test": len(task.dataset("test"))}
    assert zs.top1 == pytest.approx(zs.value) and zs.top5 >= zs.top1

    lp = results["linear-probe.json"]
    sizes = {s: len(task.dataset(s)) for s in ("train", "val", "test")}
    assert lp.split_sizes == sizes
    grid = [c for c, _ in lp.probe["search"]]
    assert lp.probe["C"] in grid and len(grid) >= 7
    best = max(score for _, score in lp.probe["search"])
    assert dict(map(tuple, lp.probe["search"]))[lp.probe["C"]] == best

    assert results["few-shot-0shot.json"].value == pytest.approx(zs.value)
    for k in SHOTS:
        seeds = [results[f"few-shot-{k}shot-seed{s}.json"] for s in SEEDS]
        assert all(r.split_sizes["train"] == k * task.num_classes for r in seeds)
        # C is chosen on k per class from val (all of a class when val has fewer than k)
        val_counts = np.bincount(np.asarray(task.dataset("val").labels))
        assert all(r.split_sizes["val"] == np.minimum(val_counts, k).sum() for r in seeds)
        agg = results[f"few-shot-{k}shot.json"]
        values = [r.value for r in seeds]
        assert agg.seed is None and agg.aggregate["values"] == values
        assert agg.value == pytest.approx(np.mean(values))
        assert agg.aggregate["std"] == pytest.approx(np.std(values, ddof=1))

    # a rerun skips everything: no features are touched and no file changes
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    features.STATS.clear()
    again = _run_all(ckpt, out)
    assert again["written"] == [] and len(again["skipped"]) == len(expected_files())
    assert features.STATS["cache_misses"] == 0 and features.STATS["cache_hits"] == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before

    # without the results, the features come from the cache (hits, no extraction)
    zs_path = folder / "zero-shot.json"
    zs_path.unlink()
    features.STATS.clear()
    third = _run_all(ckpt, out)
    assert third["written"] == [str(zs_path)]
    assert features.STATS["cache_hits"] == 1 and features.STATS["cache_misses"] == 0
    assert read_result(zs_path).value == pytest.approx(zs.value)

    # `bench results` lists them all
    listing = run_json("results", "--out", str(out))
    assert listing["problems"] == [] and len(listing["results"]) == len(expected_files())


def test_force_recomputes_and_overwrites(ckpt: Path, tmp_path: Path):
    out = tmp_path / "results"
    args = ("run", "--model", str(ckpt), "--tasks", "digits", "--suite", "zero-shot")
    run_json(*args, "--out", str(out), "--workers", "0", "--quiet")
    path = out / "tiny" / "digits" / "zero-shot.json"
    created = json.loads(path.read_text())["created"]
    first = read_result(path)
    forced = run_json(*args, "--out", str(out), "--workers", "0", "--quiet", "--force")
    assert forced["written"] == [str(path)]
    assert forced["skipped"] == []
    second = read_result(path)
    assert second.value == pytest.approx(first.value) and second.created >= created
    plain = run_json(*args, "--out", str(out), "--workers", "0", "--quiet")
    assert plain["written"] == [] and plain["skipped"] == [str(path)]


def test_human_output_is_a_table(ckpt: Path, tmp_path: Path):
    code, out, err = run_cli(
        "run", "--model", str(ckpt), "--tasks", "digits", "--suite", "zero-shot",
        "--out", str(tmp_path / "r"), "--workers", "0", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "zero-shot" in out and "accuracy" in out and "1 written" in out
