"""A run's settings: one frozen value built once at the edge (the CLI) and passed down.

This is the one place that resolves the device and the precision; nothing below it
re-reads ``--device`` or ``--precision``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.errors import BenchError

PRECISIONS = ("fp32", "fp16", "bf16")
#: ``cpu``: OpenAI's PIL preprocessing in the loader workers; ``gpu``: the workers read the
#: encoded files and decoding, resize, crop and normalisation run as tensors on the run's
#: device (:mod:`bench.models.decode`; on a CPU device the same tensor steps run on the CPU).
DECODES = ("cpu", "gpu")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA if available else CPU; checks that a requested device exists.

    Raises:
        BenchError: for an unknown device string or CUDA requested without a GPU.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BenchError(
            f"unknown device {device!r}; use cpu, cuda, cuda:N or mps (e.g. --device cuda:0)"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BenchError(
            f"device {device!r} asked for, but CUDA is not available; use --device cpu"
        )
    return dev


def resolve_precision(precision: str | None, device: torch.device) -> str:
    """``None`` -> ``fp16`` on CUDA (as OpenAI's GPU models), else ``fp32``.

    Raises:
        BenchError: for a name other than fp32, fp16, bf16.
    """
    if precision is None:
        return "fp16" if device.type == "cuda" else "fp32"
    if precision not in PRECISIONS:
        raise BenchError(f"unknown precision {precision!r}; valid choices: {', '.join(PRECISIONS)}")
    return precision


def precision_dtype(precision: str) -> torch.dtype:
    """The torch dtype of a precision name (``fp32``, ``fp16``, ``bf16``)."""
    return _DTYPES[precision]


def default_workers() -> int:
    """Data-loader processes for this machine: one per core beyond the main one, at most 8.

    Under torchrun the cores are shared by the ranks on this machine (``LOCAL_WORLD_SIZE``).
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        ranks = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        ranks = 1
    return max(0, min(8, (cores or 1) // ranks - 1))


@dataclass(frozen=True)
class Settings:
    """How a run computes, the same for every suite and task in it.

    Attributes:
        device: Where models and probes run (resolved).
        precision: ``fp32``, ``fp16`` or ``bf16`` (resolved).
        batch_size: Images per batch.
        workers: Data-loader processes.
        data_root: Where datasets are looked for (``None``: ``$BENCH_DATA``).
        skip_corrupt: Skip (and count) images that do not decode.
        force: Recompute and overwrite results that exist (features are re-extracted too).
        refresh_features: Re-extract features even where a verified cache entry exists.
        allow_partial: Evaluate a split with fewer items than the task expects, marked partial.
        progress: Show progress bars.
        decode: Where images are decoded and preprocessed (:data:`DECODES`).
    """

    device: torch.device
    precision: str
    batch_size: int = 256
    workers: int = 0
    data_root: Path | None = None
    skip_corrupt: bool = False
    force: bool = False
    refresh_features: bool = False
    allow_partial: bool = False
    progress: bool = True
    decode: str = "cpu"

    @classmethod
    def build(
        cls,
        *,
        device: str | torch.device | None = None,
        precision: str | None = None,
        batch_size: int = 256,
        workers: int | None = None,
        data_root: str | os.PathLike[str] | None = None,
        decode: str = "cpu",
        **flags: bool,
    ) -> Settings:
        """Resolves and checks the settings once.

        Raises:
            BenchError: an unknown device, precision or decode, ``batch_size < 1`` or
                ``workers < 0``.
        """
        if decode not in DECODES:
            raise BenchError(
                f"unknown --decode {decode!r}; valid choices: {', '.join(DECODES)} (gpu decodes "
                "JPEGs and preprocesses as tensors on the run's device)"
            )
        if batch_size < 1:
            raise BenchError(f"--batch-size must be >= 1; got {batch_size}")
        if workers is not None and workers < 0:
            raise BenchError(f"--workers must be >= 0; got {workers}")
        dev = resolve_device(device)
        return cls(
            device=dev,
            precision=resolve_precision(precision, dev),
            batch_size=batch_size,
            workers=default_workers() if workers is None else workers,
            data_root=Path(data_root) if data_root is not None else None,
            decode=decode,
            **flags,
        )

    @property
    def dtype(self) -> torch.dtype:
        return precision_dtype(self.precision)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)
