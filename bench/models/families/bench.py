"""The ``bench`` family: checkpoint files (``bench:PATH``, or a bare path).

- A ``bench train`` checkpoint carries its architecture in ``<stem>.bench.json``
  (:mod:`bench.models.metadata`): loaded exactly, named ``<run>@step<S>``.
- One of OpenAI's nine files (by sha256) is that model.
- Any other plain state dict is never evaluated under a hidden assumption. A key layout of
  another family (timm towers, SigLIP, EVA, CoCa, Hugging Face, open_clip's custom text tower)
  is refused naming the family; OpenAI's exact layout and vocabulary (49,408 BPE tokens, widths
  multiples of 64) loads with a warning and the assumptions recorded; anything else is refused
  with the form that settles it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.io import sha256_file
from bench.models.families.base import Family, ModelHandle, assumptions_note, register, warn
from bench.models.families.openai import existing_file
from bench.models.metadata import read_meta
from bench.models.seam import ClipModel
from bench.results import model_slug

OPENAI_VOCAB = 49408
SETTLE = "--model open_clip:ARCH --weights PATH, or --model openai:ViT-B/32 --weights PATH"

# (key test, family, the form that loads it)
_FOREIGN = (
    (lambda k: k.startswith("visual.trunk."), "open_clip with a timm image tower",
     "--model open_clip:ARCH --weights PATH"),
    (lambda k: k == "logit_bias", "SigLIP (it has a logit_bias)",
     "--model open_clip:ARCH --weights PATH, or --model hf:DIR"),
    (lambda k: k.startswith(("text_decoder.", "visual.attn_pool.")), "CoCa",
     "--model open_clip:coca_ARCH --weights PATH"),
    (lambda k: k.startswith(("visual.blocks.", "visual.patch_embed.", "visual.rope")),
     "EVA", "--model open_clip:EVA02-ARCH --weights PATH"),
    (lambda k: k.startswith(("vision_model.", "text_model.")), "Hugging Face transformers",
     "--model hf:DIR (a folder saved with save_pretrained)"),
    (lambda k: k.startswith("text."), "open_clip with a custom text tower",
     "--model open_clip:ARCH --weights PATH"),
)  # fmt: skip


def foreign_family(keys: list[str]) -> tuple[str, str] | None:
    """(family, form that loads it) for a key layout that is not OpenAI's, else None."""
    for test, family, form in _FOREIGN:
        if any(test(k) for k in keys):
            return family, form
    return None


def plain_assumptions(path: Path, shapes: Mapping[str, tuple[int, ...]]) -> tuple[str, ...]:
    """What loading a plain OpenAI-layout state dict assumes; refuses what cannot be assumed.

    Raises:
        BenchError: for another family's layout, or an ambiguous vocabulary or head width.
    """
    foreign = foreign_family(list(shapes))
    if foreign:
        raise BenchError(
            f"{path} holds the key layout of {foreign[0]}, not OpenAI's CLIP; load it with "
            f"{foreign[1]}"
        )
    vocab = shapes.get("token_embedding.weight", (0,))[0]
    if vocab != OPENAI_VOCAB:
        raise BenchError(
            f"{path} has a vocabulary of {vocab} tokens, not OpenAI's {OPENAI_VOCAB}, so its "
            f"tokenizer and text pooling cannot be known; name its architecture: {SETTLE}"
        )
    widths = {"text": shapes.get("ln_final.weight", (0,))[0]}
    if "visual.proj" in shapes:
        widths["image"] = shapes["visual.proj"][0]
    odd = {t: w for t, w in widths.items() if w % 64}
    if odd:
        raise BenchError(
            f"{path}: {', '.join(f'{t} width {w}' for t, w in odd.items())} is not a multiple "
            f"of 64, so the attention heads cannot be known; name its architecture: {SETTLE}"
        )
    return (
        "activation QuickGELU assumed (OpenAI's; open_clip's non-quickgelu models use GELU)",
        "attention heads 64 wide assumed (OpenAI's; open_clip's ViT-H/g use 80 or 88)",
        "text pooled at the end-of-text token of OpenAI's BPE, causal mask assumed",
    )


def resolve_file(ref: str, weights: str | None, name: str | None = None) -> ModelHandle:
    """The handle of a checkpoint file (``ref``, or ``weights`` evaluated under ``name``)."""
    path = existing_file(weights or ref, "--weights" if weights else "--model")
    meta = read_meta(path)
    sha = sha256_file(path)
    if meta is not None:
        if meta.weights_sha256 != sha:
            raise BenchError(
                f"{path} is not the weights file its metadata {path.stem}.bench.json was "
                "written for (sha256 differs); restore the pair, or delete the .bench.json to "
                "load the file as a plain state dict"
            )
        display = name or meta.name
        config = meta.config
        assumptions: tuple[str, ...] = ()
    else:
        official = _official(sha)
        if official is not None:
            from bench.models.families.openai import FAMILY as OPENAI

            return OPENAI.resolve(official, str(path))
        from bench.models.loading import read_shapes

        assumptions = plain_assumptions(path, read_shapes(path))
        display, config = name or path.stem, None
        warn(f"{path} is a plain state dict; {assumptions_note(assumptions)}")

    def load(device: torch.device, precision: str) -> ClipModel:
        from bench.models.loading import build_model, read_state_dict

        model = build_model(read_state_dict(path), config=config)
        model = model.set_precision(precision).to(device)
        return ClipModel(model, display, "bench", weights_sha256=sha, assumptions=assumptions)

    return ModelHandle(display, "bench", model_slug(display), sha, assumptions, load)


def _official(sha: str) -> str | None:
    from bench.models import hub

    for name, info in hub.MODELS.items():
        if info.sha256 == sha:
            return name
    return None


def _list() -> list[str]:
    return []


FAMILY = register(
    Family(
        name="bench",
        summary="checkpoint files: `bench train` checkpoints (config in <stem>.bench.json), "
        "plain OpenAI-layout state dicts",
        syntax="PATH | bench:PATH",
        extra=None,
        resolve=resolve_file,
        list_names=_list,
    )
)
