"""torch.distributed for evaluation and training: join the group torchrun describes.

``torchrun --nproc_per_node=N -m bench run ...`` (or multi-node, through torchrun's
rendezvous) sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`join` turns them into a
:class:`World`. NCCL on GPUs (each rank on ``cuda:LOCAL_RANK``), gloo on CPU. Without
torchrun the world is one process and every call here is free.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

from bench.errors import BenchError
from bench.settings import Settings

# How long ranks wait for each other (rank 0 fits probes while the others wait).
DEFAULT_TIMEOUT = datetime.timedelta(hours=12)


class RankFailedError(BenchError):
    """Another rank died or timed out; the run stops and a rerun resumes from the cache."""


@dataclass(frozen=True)
class World:
    """This process's place in the run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def device(self, device: torch.device) -> torch.device:
        """The run's device as this rank uses it: ``cuda:LOCAL_RANK`` for CUDA under torchrun."""
        if self.distributed and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def settings(self, settings: Settings) -> Settings:
        """A run's settings for this rank: its own GPU, and progress bars on rank 0 only."""
        if not self.distributed:
            return settings
        return settings.replace(
            device=self.device(settings.device), progress=settings.progress and self.is_main
        )

    def shard(self, items: Sequence[int]) -> list[int]:
        """This rank's share of ``items``: every ``size``-th one, starting at ``rank``."""
        return list(items)[self.rank :: self.size]

    def barrier(self, what: str) -> None:
        """Waits for every rank; a rank that died fails the run with one line."""
        if not self.distributed:
            return
        try:
            dist.barrier()
        except (RuntimeError, dist.DistBackendError) as e:
            raise RankFailedError(
                f"rank {self.rank}: another rank failed or timed out while {what} "
                f"({type(e).__name__}); rerun the same command to resume from the chunks "
                "already in the feature cache"
            ) from None

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def env_world_size() -> int:
    """``WORLD_SIZE`` as torchrun sets it (1 when not under torchrun)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise BenchError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not an integer; launch with torchrun"
        ) from None


def join(device_type: str, timeout: datetime.timedelta = DEFAULT_TIMEOUT) -> World:
    """Joins torchrun's process group (NCCL for ``cuda``, else gloo), once per process."""
    size = env_world_size()
    if size <= 1:
        return World()
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(local)
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo", timeout=timeout)
    return World(rank, size, local, owns)
