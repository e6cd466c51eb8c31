"""The metadata beside a ``bench train`` weights file: ``step_<S>.bench.json``.

The weights file stays a plain ``torch.save`` state dict in OpenAI's layout (so OpenAI's and
open_clip's loaders read it as it is); what a state dict cannot say lives in the JSON sidecar:
the full architecture (activation and head counts included), the tokenizer, the run's name and
step, and the weights file's sha256, which ties the two files together. A sidecar was chosen
over safetensors metadata so the weights file keeps its format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.io import atomic_write_json
from bench.models.model import ModelConfig

FORMAT = "bench-checkpoint/1"
SUFFIX = ".bench.json"
TOKENIZER = "openai-bpe"  # bench.models.tokenizer: OpenAI's BPE, end-of-text the last id


@dataclass(frozen=True)
class CheckpointMeta:
    """What a ``bench train`` checkpoint's sidecar says.

    Attributes:
        config: The architecture.
        run: The training run's name (its output folder's name).
        step: Optimiser steps completed.
        weights_sha256: sha256 of the weights file.
        tokenizer: The tokenizer's id (``openai-bpe``).
    """

    config: ModelConfig
    run: str
    step: int
    weights_sha256: str
    tokenizer: str = TOKENIZER

    @property
    def name(self) -> str:
        """The default model name: ``<run>@step<S>``."""
        return f"{self.run}@step{self.step}"


def sidecar_path(weights: str | Path) -> Path:
    """``step_00001200.pt`` -> ``step_00001200.bench.json`` beside it."""
    weights = Path(weights)
    return weights.with_name(weights.stem + SUFFIX)


def write_meta(weights: str | Path, meta: CheckpointMeta) -> Path:
    """Writes the sidecar of ``weights`` atomically; returns its path."""
    path = sidecar_path(weights)
    data: dict[str, Any] = {
        "format": FORMAT,
        "run": meta.run,
        "step": meta.step,
        "weights_sha256": meta.weights_sha256,
        "tokenizer": meta.tokenizer,
        "model_config": meta.config.to_dict(),
    }
    atomic_write_json(path, data)
    return path


def read_meta(weights: str | Path) -> CheckpointMeta | None:
    """The sidecar of ``weights``, or None when there is none.

    Raises:
        BenchError: the sidecar is unreadable, of another format or tokenizer.
    """
    path = sidecar_path(weights)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r} is not {FORMAT!r}")
        if data.get("tokenizer") != TOKENIZER:
            raise ValueError(f"tokenizer {data.get('tokenizer')!r} is not {TOKENIZER!r}")
        return CheckpointMeta(
            config=ModelConfig.from_dict(data["model_config"]),
            run=str(data["run"]),
            step=int(data["step"]),
            weights_sha256=str(data["weights_sha256"]),
        )
    except (OSError, ValueError, KeyError, TypeError, BenchError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise BenchError(
            f"checkpoint metadata {path} is unreadable ({reason}); delete it to load "
            f"{Path(weights).name} as a plain state dict, or restore it from the run"
        ) from err
