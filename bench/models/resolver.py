"""``resolve``: one entry point from a model name (and optional weights file) to a
:class:`~bench.models.families.base.ModelHandle`.

Names: ``FAMILY:REF`` (``openai:ViT-B/32``, ``bench:runs/x/step_1.pt``,
``open_clip:ViT-B-32/laion2b_s34b_b79k``, ``hf:org/name``), one of the nine by OpenAI's or
open_clip's spelling (``ViT-B/32``, ``ViT-B-32``), or a checkpoint file path.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from bench.errors import UnknownNameError
from bench.models.families.base import FAMILIES, Family, ModelHandle
from bench.models.loading import CHECKPOINT_SUFFIXES

# The family modules; each registers itself on import (a new family: one module, one entry).
FAMILY_MODULES = ("openai", "bench", "open_clip", "hf")


def families() -> list[Family]:
    """The registered families, in :data:`FAMILY_MODULES` order."""
    for module in FAMILY_MODULES:
        importlib.import_module(f"bench.models.families.{module}")
    return [FAMILIES.get(n) for n in FAMILIES.names()]


def resolve(name: str, *, weights: str | os.PathLike[str] | None = None) -> ModelHandle:
    """The handle of the model called ``name``; nothing is loaded or downloaded.

    Args:
        name: ``FAMILY:REF``, one of the nine, or a checkpoint path.
        weights: A local weights file (``--weights PATH``) for ``openai:NAME``,
            ``open_clip:ARCH`` or a name of your own (evaluated under that name).

    Raises:
        UnknownNameError: a name of no family, model or file (with close matches).
        BenchError: bad weights, an ambiguous state dict, a missing optional extra.
    """
    families()
    weights = os.fspath(weights) if weights is not None else None
    prefix, sep, ref = name.partition(":")
    if sep and prefix in FAMILIES and not (len(prefix) == 1 and Path(name).exists()):
        return FAMILIES.get(prefix).resolve(ref, weights)
    from bench.models.families.bench import resolve_file
    from bench.models.hub import get_model_info

    try:
        get_model_info(name)
    except UnknownNameError:
        pass
    else:
        return FAMILIES.get("openai").resolve(name, weights)
    if weights is not None:
        return resolve_file(weights, None, name=name)
    path = Path(name).expanduser()
    if path.is_file() or path.suffix in CHECKPOINT_SUFFIXES or name.startswith((".", "/", "~")):
        return resolve_file(name, None)
    import difflib

    from bench.models.hub import available_models

    close = difflib.get_close_matches(name, available_models(), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    raise UnknownNameError(
        f"unknown model {name!r}; {hint}give FAMILY:NAME ({', '.join(FAMILIES.names())}), one of "
        "OpenAI's nine, or a checkpoint file path (list them with `bench models`)"
    )
