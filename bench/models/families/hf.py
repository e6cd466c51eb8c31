"""The ``hf`` family: ``hf:REPO_OR_DIR``, a hub id or a folder saved with ``save_pretrained``.

``CLIPModel`` and ``SiglipModel`` (SigLIP 2 fixed-resolution checkpoints are ``SiglipModel``
too), each with the folder's own tokenizer and image processor through ``AutoProcessor``
(SigLIP: padding to ``max_length`` as it was trained, and its tokenizer's text
canonicalisation). OpenAI-architecture CLIP configurations run on the in-repo encoders (see
:mod:`bench.models.convert`); the rest on transformers' model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch

from bench.errors import BenchError, DataMissingError
from bench.models.families.base import Family, ModelHandle, needs_extra, register, slug
from bench.models.families.hf_build import build, fetch_error

EXTRA = "hf"
SUPPORTED = ("clip", "siglip")
_WEIGHT_FILES = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")


def _tf() -> Any:
    try:
        import transformers
    except ImportError:
        raise needs_extra("transformers", EXTRA, "hf") from None
    return transformers


def folder_sha256(folder: Path) -> str | None:
    """sha256 over the weight files of a ``save_pretrained`` folder (names and contents)."""
    from bench.io import sha256_file

    files = sorted({f for pattern in _WEIGHT_FILES for f in folder.glob(pattern)})
    if not files:
        return None
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name}|{sha256_file(f)}|".encode())
    return h.hexdigest()


def _resolve(ref: str, weights: str | None) -> ModelHandle:
    if weights is not None:
        raise BenchError(
            f"hf:{ref} reads its weights from the folder or hub; drop --weights {weights}, or "
            "save the model with save_pretrained and pass --model hf:FOLDER"
        )
    tf = _tf()
    local = Path(ref).expanduser()
    if ref.startswith((".", "/", "~")) and not local.is_dir():
        raise DataMissingError(
            f"hf:{ref}: folder {ref} does not exist; pass a folder written by "
            "save_pretrained (--model hf:/path/to/folder) or a hub id (--model hf:ORG/NAME)"
        )
    source = str(local) if local.is_dir() else ref
    try:
        config = tf.AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise fetch_error(ref, err) from None
    if config.model_type not in SUPPORTED:
        raise BenchError(
            f"hf:{ref} is a {config.model_type!r} model; the hf family supports "
            f"{', '.join(SUPPORTED)} (SigLIP 2 NaFlex checkpoints take variable-size patch "
            "sequences and are not supported; use a fixed-resolution one)"
        )
    name = f"hf:{ref}"
    sha = folder_sha256(local) if local.is_dir() else None

    def load(device: torch.device, precision: str) -> Any:
        model = build(tf, source, config, name, sha)
        from bench.models.model import PRECISIONS

        if precision != "fp32":
            if hasattr(model.module, "set_precision"):
                model.module.set_precision(precision)
            else:
                model.module.to(PRECISIONS[precision])
        return model.to(device)

    return ModelHandle(name, "hf", slug(name), sha, (), load)


def _list() -> list[str]:
    _tf()
    return []


FAMILY = register(
    Family(
        name="hf",
        summary="Hugging Face transformers CLIPModel and SiglipModel (SigLIP 2 fixed-resolution)",
        syntax="hf:ORG/NAME | hf:FOLDER (saved with save_pretrained)",
        extra=EXTRA,
        resolve=_resolve,
        list_names=_list,
    )
)
