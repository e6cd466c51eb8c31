"""The ``openai`` family: OpenAI's nine models (``ViT-B/32``, ``openai:ViT-B/32``, ``RN50`` ...).

Without ``--weights`` the official file is downloaded once and verified; with ``--weights PATH``
the file is read as that architecture under OpenAI's conventions (QuickGELU, heads 64 wide,
OpenAI's BPE), which the user asserted by naming it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bench.errors import BenchError, DataMissingError
from bench.io import sha256_file
from bench.models import hub
from bench.models.families.base import Family, ModelHandle, register, slug
from bench.models.model import get_config
from bench.models.seam import ClipModel
from bench.results import model_slug


def existing_file(path: str, flag: str = "--weights") -> Path:
    """``path`` as an existing file, else a one-line error naming it."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataMissingError(
            f"{flag} {p}: no such checkpoint file; check the path, or give a model name from "
            "`bench models`"
        )
    return p


def _resolve(ref: str, weights: str | None) -> ModelHandle:
    info = hub.get_model_info(ref)
    if weights is None:

        def load_official(device: torch.device, precision: str) -> ClipModel:
            model = hub.load(info.name, device=device, precision=precision)[0]
            return ClipModel(model, info.name, "openai", weights_sha256=info.sha256)

        return ModelHandle(
            info.name, "openai", model_slug(info.name), info.sha256, (), load_official
        )
    path = existing_file(weights)
    sha = sha256_file(path)
    name = info.name if sha == info.sha256 else f"openai:{info.name}+{path.stem}"
    config = get_config(info.config)

    def load_file(device: torch.device, precision: str) -> ClipModel:
        from bench.models.loading import build_model, read_state_dict

        try:
            model = build_model(read_state_dict(path), config=config)
        except BenchError as e:
            raise BenchError(
                f"--weights {path} does not fit {info.name}'s architecture ({str(e)[:160]}...); "
                f"pass the model it belongs to: --model open_clip:ARCH --weights {path}, or "
                f"--model {path} for a bench train checkpoint"
            ) from None
        model = model.set_precision(precision).to(device)
        return ClipModel(model, name, "openai", weights_sha256=sha)

    handle_slug = model_slug(info.name) if name == info.name else slug(name)
    return ModelHandle(name, "openai", handle_slug, sha, (), load_file)


FAMILY = register(
    Family(
        name="openai",
        summary="OpenAI's nine CLIP models (official weights, downloaded and verified)",
        syntax="ViT-B/32 | openai:ViT-B/32 [--weights PATH]",
        extra=None,
        resolve=_resolve,
        list_names=hub.available_models,
    )
)
