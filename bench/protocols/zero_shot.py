"""The zero-shot classifier with prompt ensembles, as in the CLIP paper: the one builder that
the suites and ``bench train``'s periodic evaluation use.

For each class, every template is filled with every name of the class (FER2013 has several
names for some classes), the texts are tokenized and encoded through the model seam
(:class:`bench.models.seam.EvalModel`), L2-normalised, averaged and renormalised: that is the
class's weight vector. Logits are ``100 * cosine`` between the normalised image embeddings and
these vectors (OpenAI's notebook, ``Prompt_Engineering_for_ImageNet.ipynb``).

Classifiers are cached like features: the key is the weights' hash, the exact texts and the
precision; the file holds the full key and is compared on load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from bench.errors import BenchError
from bench.features import STATS
from bench.io import atomic_path, cache_dir
from bench.models.seam import EvalModel
from bench.settings import precision_dtype

#: Bump when the classifier's construction changes.
CLASSIFIER_FORMAT_VERSION = 2  # 2: texts through the model seam's own tokenizer

ClassNames = Sequence[str | Sequence[str]]

#: Prompt modes (the paper's Figure 4 ablation): the task's template ensemble, the one
#: prompt "a photo of a {}.", or the bare class name.
ENSEMBLE = "ensemble"
PROMPT_TEMPLATES: dict[str, tuple[str, ...] | None] = {
    ENSEMBLE: None, "single": ("a photo of a {}.",), "classname": ("{}",),
}  # fmt: skip
PROMPT_MODES = tuple(PROMPT_TEMPLATES)


def check_prompt_mode(mode: str) -> str:
    """``mode`` if it is a prompt mode.

    Raises:
        BenchError: naming the valid modes.
    """
    if mode not in PROMPT_TEMPLATES:
        raise BenchError(
            f"--prompts {mode!r} is not a prompt mode; valid: {', '.join(PROMPT_MODES)} "
            f"(default {ENSEMBLE})"
        )
    return mode


def mode_templates(templates: Sequence[str], mode: str) -> tuple[str, ...]:
    """The templates a prompt mode encodes: the task's own for the ensemble."""
    fixed = PROMPT_TEMPLATES[check_prompt_mode(mode)]
    return tuple(templates) if fixed is None else fixed


def class_texts(classnames: ClassNames, templates: Sequence[str]) -> list[list[str]]:
    """For each class, the prompts: every template filled with every name of the class.

    Args:
        classnames: One entry per class: a name, or a sequence of names (synonyms).
        templates: Templates with one ``{}`` where the name goes.
    """
    texts = []
    for names in classnames:
        names = (names,) if isinstance(names, str) else tuple(names)
        texts.append([t.replace("{}", n) for n in names for t in templates])
    return texts


def build_classifier(
    model: EvalModel,
    classnames: ClassNames,
    templates: Sequence[str],
    *,
    precision: str = "fp32",
    batch_size: int = 1024,
    cache: bool = True,
) -> torch.Tensor:
    """The zero-shot classifier: ``[D, C]`` float32 (CPU), one unit column per class.

    Args:
        model: The model seam (``tokenize``, ``encode_text``, ``weights_sha256``, ``device``).
        classnames: One name (or sequence of names, every one used) per class: pass
            ``task.class_prompts``.
        templates: Prompt templates with one ``{}``.
        precision: Autocast precision for the text tower (``fp32``, ``fp16``, ``bf16``).
        batch_size: Texts per forward pass.
        cache: Read and write ``<cache>/classifiers/``.

    Returns:
        The class weight matrix, each column L2-normalised.
    """
    texts = class_texts(classnames, templates)
    spec = {
        "format": CLASSIFIER_FORMAT_VERSION,
        "weights_sha256": model.weights_sha256,
        "texts_sha256": hashlib.sha256(json.dumps(texts).encode()).hexdigest(),
        "precision": precision,
    }
    path = _cache_path(spec) if cache else None
    if path is not None and (hit := _load(path, spec)) is not None:
        STATS["classifier_cache_hits"] += 1
        return hit
    weights = _encode_classes(model, texts, precision=precision, batch_size=batch_size)
    if path is not None:
        with atomic_path(path) as tmp:
            save_file({"weights": weights}, str(tmp), metadata={"bench": json.dumps(spec)})
    return weights


def _encode_classes(
    model: EvalModel, texts: list[list[str]], *, precision: str, batch_size: int
) -> torch.Tensor:
    """Per class: encode, normalise, average, renormalise; batched across classes."""
    device = model.device
    flat = [t for class_t in texts for t in class_t]
    owner = torch.tensor([c for c, class_t in enumerate(texts) for _ in class_t], device=device)
    sums = None
    dtype = precision_dtype(precision)
    autocast = torch.autocast(device.type, dtype=dtype, enabled=precision != "fp32")
    with torch.inference_mode():
        for i in range(0, len(flat), batch_size):
            tokens = model.tokenize(flat[i : i + batch_size])
            with autocast:
                emb = model.encode_text(tokens.to(device)).float()
            emb = emb / emb.norm(dim=-1, keepdim=True)
            if sums is None:
                sums = emb.new_zeros(len(texts), emb.shape[1])
            sums.index_add_(0, owner[i : i + batch_size], emb)
    assert sums is not None, "no class texts to encode"
    counts = torch.tensor([len(t) for t in texts], device=device, dtype=sums.dtype)
    mean = sums / counts[:, None]
    mean = mean / mean.norm(dim=-1, keepdim=True)
    return mean.T.contiguous().cpu()


def _cache_path(spec: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:32]
    return cache_dir() / "classifiers" / f"{digest}.safetensors"


def _load(path: Path, spec: dict[str, Any]) -> torch.Tensor | None:
    if not path.exists():
        return None
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            stored = json.loads((f.metadata() or {}).get("bench", "{}"))
        if stored != spec:
            return None
        return load_file(str(path))["weights"]
    except Exception:  # noqa: BLE001 - an unreadable cache file is rebuilt
        return None


def logits(embedding: torch.Tensor, classifier: torch.Tensor) -> torch.Tensor:
    """``100 * cosine`` between image embeddings ``[N, D]`` and class columns ``[D, C]``."""
    f = embedding.float()
    f = f / f.norm(dim=-1, keepdim=True)
    return 100.0 * f @ classifier.to(f.device, torch.float32)
