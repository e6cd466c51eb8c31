"""Two CPU processes (gloo) give the loss and gradients of one process on the combined batch.

The ranks are spawned with torch.multiprocessing on 127.0.0.1 at a free port; each writes what
it computed to a file that the test compares with a single-process run of the same batch.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from train_fixtures import _one_torch_thread, write_csv  # noqa: F401

from bench.models import CLIP, get_config
from bench.train.config import load_config
from bench.train.loop import ContrastiveTowers
from bench.train.loss import contrastive_loss

WORLD = 2
BATCH = 8  # global


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    from bench.models import tokenize

    g = torch.Generator().manual_seed(1)
    images = torch.randn(BATCH, 3, 32, 32, generator=g)
    tokens = tokenize([f"a photo of the number {i}" for i in range(BATCH)])
    return images, tokens


def _model() -> CLIP:
    torch.manual_seed(0)
    return CLIP(get_config("tiny-vit"))


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def _worker(rank: int, port: int, out: str, data: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        # 1. one forward/backward on this rank's half of the batch, through DDP
        model = _model()
        ddp = torch.nn.parallel.DistributedDataParallel(ContrastiveTowers(model))
        images, tokens = _batch()
        local = slice(rank * BATCH // WORLD, (rank + 1) * BATCH // WORLD)
        loss = contrastive_loss(*ddp(images[local], tokens[local]))
        loss.backward()
        # 2. the whole training loop: 3 steps of AdamW on a CSV of pairs
        from bench.train.loop import train

        cfg = load_config(
            None,
            {
                "data": data,
                "steps": 3,
                "batch_size": 4,
                "workers": 0,
                "warmup_steps": 1,
                "lr": 1e-3,
                "log_every": 1,
                "output_dir": f"{out}/run",
                "checkpoint_every": 3,
            },
        )
        result = train(cfg, progress=False)
        torch.save(
            {
                "loss": loss.detach(),
                "grads": _grads(model),
                "final_loss": result.loss,
                "world": dist.get_world_size(),
            },
            f"{out}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("ddp")
    data, _ = write_csv(out / "data", 12)
    mp.spawn(_worker, args=(_free_port(), str(out), str(data)), nprocs=WORLD, join=True)
    return out, data


def test_loss_and_gradients_equal_single_process(two_ranks):
    out, _ = two_ranks
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    assert all(r["world"] == WORLD for r in ranks)
    model = _model()
    images, tokens = _batch()
    loss = contrastive_loss(*ContrastiveTowers(model)(images, tokens))
    loss.backward()
    expected = _grads(model)
    # the mean of the ranks' losses is the global batch's loss
    mean_loss = sum(r["loss"] for r in ranks) / WORLD
    torch.testing.assert_close(mean_loss, loss.detach(), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ranks[0]["loss"], ranks[1]["loss"])  # each rank saw its own half
    for r in ranks:  # DDP leaves the same, correct gradient on every rank
        assert r["grads"].keys() == expected.keys()
        for name, grad in expected.items():
            # float32 sums in another order: compare at the tensor's own scale
            atol = 1e-5 * float(grad.abs().max()) + 1e-8
            torch.testing.assert_close(r["grads"][name], grad, rtol=1e-4, atol=atol, msg=name)
    assert expected["logit_scale"].abs() > 0 and expected["visual.conv1.weight"].abs().sum() > 0


def test_training_loop_on_two_ranks_equals_one(two_ranks, tmp_path):
    out, data = two_ranks
    from bench.models import load_checkpoint
    from bench.train.loop import train

    cfg = load_config(
        None,
        {
            "data": str(data),
            "steps": 3,
            "batch_size": 4,
            "workers": 0,
            "warmup_steps": 1,
            "lr": 1e-3,
            "log_every": 1,
            "output_dir": str(tmp_path / "run"),
            "checkpoint_every": 3,
        },
    )
    single = train(cfg, progress=False)
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]
    assert ranks[0]["final_loss"] == pytest.approx(single.loss, rel=1e-4)
    two = load_checkpoint(out / "run" / "checkpoints" / "step_00000003.pt").state_dict()
    one = load_checkpoint(single.checkpoint).state_dict()
    for name, value in one.items():
        if name.endswith("attn.in_proj_bias"):
            # The key bias has an exactly zero gradient (softmax ignores a per-query constant),
            # so AdamW turns float noise of ~1e-10 into steps of any sign: compare q and v only.
            width = value.shape[0] // 3
            value, other = value[torch.arange(3 * width) // width != 1], two[name]
            two[name] = other[torch.arange(3 * width) // width != 1]
        torch.testing.assert_close(two[name], value, rtol=1e-4, atol=3e-5, msg=name)
    assert not torch.equal(one["visual.conv1.weight"], _model().state_dict()["visual.conv1.weight"])


@pytest.mark.slow
def test_torchrun_launches_bench_train(tmp_path):
    """``torchrun -m bench train`` on 2 CPU processes: the ranks join with gloo and train."""
    import json
    import subprocess
    import sys

    data, _ = write_csv(tmp_path / "data", 12)
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "-m",
        "bench",
        "train",
        "--set",
        f"data={data}",
        "--set",
        "steps=2",
        "--set",
        "batch_size=4",
        "--set",
        "workers=0",
        "--set",
        f"output_dir={out}",
        "--no-progress",
        "--json",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    start = json.loads(open(out / "log.jsonl").readline())
    assert start["world_size"] == 2
    assert json.loads(proc.stdout)["step"] == 2  # only rank 0 prints the summary
