"""Contrastive training of CLIP models (``bench train``).

- :mod:`bench.train.config`: the typed training config (YAML/JSON + ``--set`` overrides).
- :mod:`bench.train.data`: CSV/TSV, WebDataset tar shards and Hugging Face image-text pairs.
- :mod:`bench.train.loss`: CLIP's symmetric contrastive loss, exact across ranks.
- :mod:`bench.train.optim`: AdamW with CLIP's weight-decay groups; warm-up + cosine schedule.
- :mod:`bench.train.loop`: the training loop (one process or torchrun ranks).
- :mod:`bench.train.checkpoint`: OpenAI-layout weights plus resumable training state.
- :mod:`bench.train.synthetic`: synthetic captioned digits (the offline demo's training data).
"""

from __future__ import annotations

from bench.train.config import ConfigError, TrainConfig, load_config

__all__ = ["ConfigError", "TrainConfig", "load_config", "train"]


def train(*args, **kwargs):  # noqa: ANN002, ANN003 - see bench.train.loop.train
    """Runs :func:`bench.train.loop.train` (imported lazily: it pulls in torch)."""
    from bench.train.loop import train as _train

    return _train(*args, **kwargs)
