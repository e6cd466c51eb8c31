"""Text embeddings of many texts (retrieval captions), cached and verified like image features.

The key holds everything that changes the values: the weights' sha256, the sha256 of the token
ids the model's own tokenizer gives for the texts (so another tokenizer, context length or
truncation is another key), the sha256 of the texts themselves, the precision and
:data:`TEXT_FORMAT_VERSION`. The file stores its key and the digest of its tensor; a file
whose key differs is not used and one whose digest fails is reported and recomputed. Writes
are atomic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from bench.features.cache import STATS, _read_verified, tensors_digest
from bench.io import atomic_path, cache_dir
from bench.settings import Settings, precision_dtype

#: Bump when what a text feature file holds or how it is computed changes.
TEXT_FORMAT_VERSION = 1


def text_key(model: Any, texts: Sequence[str], tokens: torch.Tensor, precision: str) -> dict:
    """The full cache key of the texts' embeddings."""
    return {
        "format": TEXT_FORMAT_VERSION,
        "weights_sha256": model.weights_sha256,
        "tokens_sha256": tensors_digest({"tokens": tokens.to(torch.int64)}),
        "texts_sha256": hashlib.sha256(json.dumps(list(texts)).encode()).hexdigest(),
        "n": len(texts),
        "precision": precision,
    }


def _path(spec: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]
    return cache_dir() / "text-features" / f"{digest}.safetensors"


def encode_texts(
    model: Any, tokens: torch.Tensor, *, precision: str, batch_size: int
) -> torch.Tensor:
    """L2-normalised float32 text embeddings ``[N, D]`` (CPU) of token ids ``[N, L]``."""
    device = model.device
    autocast = torch.autocast(
        device.type, dtype=precision_dtype(precision), enabled=precision != "fp32"
    )
    out = []
    with torch.inference_mode():
        for i in range(0, len(tokens), batch_size):
            with autocast:
                emb = model.encode_text(tokens[i : i + batch_size].to(device)).float()
            out.append((emb / emb.norm(dim=-1, keepdim=True)).cpu())
    return torch.cat(out) if out else torch.zeros(0, model.embed_dim)


def text_features(model: Any, texts: Sequence[str], settings: Settings) -> torch.Tensor:
    """The texts' normalised embeddings ``[N, D]``: from the verified cache or encoded.

    Args:
        model: A :class:`bench.models.seam.EvalModel`.
        texts: The texts, in order.
        settings: The run's settings (precision, batch size, force / refresh_features).
    """
    tokens = model.tokenize(list(texts))
    spec = text_key(model, texts, tokens, settings.precision)
    path = _path(spec)
    fresh = settings.force or settings.refresh_features
    found = None if fresh or not path.exists() else _read_verified(path, spec)
    if found is not None:
        STATS["text_cache_hits"] += 1
        return found[0]["embedding"]
    STATS["text_cache_misses"] += 1
    emb = encode_texts(
        model, tokens, precision=settings.precision, batch_size=settings.batch_size
    ).contiguous()
    meta = {"spec": spec, "digest": tensors_digest({"embedding": emb})}
    with atomic_path(path) as tmp:
        save_file({"embedding": emb}, str(tmp), metadata={"bench": json.dumps(meta)})
    return emb
