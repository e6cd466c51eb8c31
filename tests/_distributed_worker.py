"""A rank for tests/test_distributed.py, in its own light module so that spawned processes
start quickly (they import only this and bench.distributed)."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from bench.distributed import RankFailedError, join


def dying_rank(rank: int, port: int, out: str) -> None:
    """Rank 1 dies after joining; rank 0 writes what its barrier raised to ``out``."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE="2", LOCAL_RANK=str(rank))  # fmt: skip
    world = join("cpu", timeout=datetime.timedelta(seconds=10))
    if rank == 1:
        os._exit(3)  # dies before the barrier
    try:
        world.barrier("extracting features")
        Path(out).write_text("no error")
    except RankFailedError as e:
        Path(out).write_text(str(e))
