"""Distributed evaluation: ``torchrun -m bench run`` on 2 CPU processes (gloo) gives the result
files of one process; each rank writes its share of the chunks; a dead rank fails the run in
one line; a rerun resumes from the chunks already written."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from _distributed_worker import dying_rank
from eval_fixtures import _one_thread, save_tiny, tiny_eval_model  # noqa: F401

from bench.distributed import World, join
from bench.features import STATS, extract, extract_shard, shard_ranges
from bench.features.encode import DEFAULT_CHUNK_BATCHES
from bench.settings import Settings
from bench.suites import run_suite
from bench.tasks import get_task

BATCH = 16  # chunks of 16 x 20 = 320 images: digits train (1,080) has 4, test (597) 2
SUITES = ("linear-probe", "few-shot")


def _results(out: Path) -> dict[str, dict]:
    """Every result file under ``out``, by path, without the fields that differ by run."""
    found = {}
    for p in sorted(out.rglob("*.json")):
        r = json.loads(p.read_text())
        for k in ("timings", "created", "git_commit", "bench_version", "host", "device"):
            r.pop(k, None)
        found[str(p.relative_to(out))] = r
    return found


def _torchrun(ckpt: Path, out: Path, cache: Path) -> subprocess.Popen:
    env = {**os.environ, "BENCH_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "bench", "run", "--model", str(ckpt), "--suite", "all", "--tasks", "digits",
        "--device", "cpu", "--batch-size", str(BATCH), "--workers", "0", "--quiet",
        "--out", str(out),
    ]  # fmt: skip
    return subprocess.Popen(  # outside the checkout, so the installed bench is imported
        cmd, env=env, cwd=out.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_ranks_give_the_results_of_one_process(tmp_path, monkeypatch):
    """``--suite all`` runs zero-shot, linear-probe and few-shot on digits in one launch."""
    ckpt = save_tiny(tmp_path / "tiny.pt")
    two_ranks = _torchrun(ckpt, tmp_path / "two", tmp_path / "cache2")
    # meanwhile (rank 1 idles while rank 0 fits), one process with its own cache
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "cache1"))
    settings = Settings.build(device="cpu", batch_size=BATCH, workers=0, progress=False)
    summary = run_suite(ckpt, "all", ["digits"], tmp_path / "one", settings=settings)
    assert not summary.failed
    _, err = two_ranks.communicate(timeout=300)
    assert two_ranks.returncode == 0, err[-3000:]
    one, two = _results(tmp_path / "one"), _results(tmp_path / "two")
    assert {r["suite"] for r in one.values()} >= set(SUITES)
    assert len([r for r in one.values() if r["suite"] in SUITES]) == 1 + 1 + 5 * 4
    assert sorted(one) == sorted(two)
    for path, r in one.items():
        assert two[path]["value"] == r["value"], path
        assert two[path].get("probe") == r.get("probe"), path  # C and the whole search
        assert two[path] == r, path
    # the features were extracted by both ranks, each its own chunks
    infos = [json.loads(p.read_text()) for p in (tmp_path / "cache2" / "features").glob("*.json")]
    train = [i for i in infos if i["spec"]["split"] == "train"]
    assert len(train) == 1
    chunk = BATCH * DEFAULT_CHUNK_BATCHES
    assert train[0]["extracted_by"] == {"0": 2 * chunk, "1": 1080 - 2 * chunk}


def test_shards_cover_the_split_once_in_single_process_chunks():
    world = [World(rank=r, size=3) for r in range(3)]
    ranges = sorted(r for w in world for r in shard_ranges(1000, 320, w))
    assert ranges == [(0, 320), (320, 640), (640, 960), (960, 1000)]
    assert shard_ranges(1000, 320, world[1]) == [(320, 640)]


def test_a_rerun_resumes_from_the_chunks_a_rank_wrote(tmp_path):
    model = tiny_eval_model()
    task = get_task("digits")
    settings = Settings.build(device="cpu", batch_size=BATCH, workers=0, progress=False)
    # rank 1 of 2 finished its share, then the run died
    n = extract_shard(model, task, "train", settings, World(rank=1, size=2))
    assert n == 1080 - 2 * BATCH * DEFAULT_CHUNK_BATCHES
    STATS.clear()
    resumed = extract(model, task, "train", settings)
    assert STATS["resumed_images"] == n
    assert STATS["extracted_images"] == 1080 - n
    fresh = extract(model, task, "train", settings.replace(refresh_features=True))
    assert torch.equal(resumed.probe, fresh.probe)
    assert torch.equal(resumed.labels, fresh.labels)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_rank_that_dies_fails_the_others_in_one_line(tmp_path):
    out = tmp_path / "rank0.txt"
    ctx = mp.get_context("spawn")
    port = _free_port()
    procs = [ctx.Process(target=dying_rank, args=(r, port, str(out))) for r in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    message = out.read_text()
    assert "another rank failed" in message and "rerun the same command" in message
    assert "\n" not in message


@pytest.mark.parametrize("bad", ["two", "1.5"])
def test_a_bad_world_size_is_one_line(monkeypatch, bad):
    from bench.errors import BenchError

    monkeypatch.setenv("WORLD_SIZE", bad)
    with pytest.raises(BenchError, match=f"WORLD_SIZE='{bad}'.*torchrun"):
        join("cpu")
