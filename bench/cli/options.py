"""Options that several subcommands share, each written once: where the user's task files
are, and how a model runs (device, precision, batch size, loader workers, data root)."""

from __future__ import annotations

import argparse
from typing import Any


def add_tasks_dir_argument(parser: argparse.ArgumentParser) -> None:
    """Adds ``--tasks-dir DIR`` (repeatable): folders of the user's own task files."""
    parser.add_argument(
        "--tasks-dir",
        action="append",
        metavar="DIR",
        help="a folder of your own task YAML files (repeatable; also $BENCH_TASKS_PATH)",
    )


def add_compute_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--device``, ``--precision``, ``--batch-size``, ``--workers`` and ``--data-root``."""
    parser.add_argument("--device", help="cpu, cuda, cuda:N (default: cuda when available)")
    parser.add_argument(
        "--precision", help="fp32, fp16 or bf16 autocast (default: fp16 on CUDA, fp32 on CPU)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=256, help="images per batch (default 256)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="data loader processes (default: cores - 1, at most 8; under torchrun the "
        "cores are shared by the ranks of a machine)",
    )
    parser.add_argument("--data-root", help="where datasets live (default: $BENCH_DATA)")


def compute_settings(args: argparse.Namespace, **more: Any) -> Any:
    """The run's :class:`bench.settings.Settings` from :func:`add_compute_arguments`' options
    and ``--force`` / ``--quiet`` / ``--allow-partial``, plus ``more`` fields."""
    from bench.settings import Settings

    return Settings.build(
        device=args.device,
        precision=args.precision,
        batch_size=args.batch_size,
        workers=args.workers,
        data_root=args.data_root,
        force=args.force,
        progress=not args.quiet,
        allow_partial=args.allow_partial,
        **more,
    )
