"""The family registry and :class:`ModelHandle`, what resolving a model name gives.

A handle knows the model's display name, family, results slug, weights sha256 (when it can be
known without loading) and the assumptions made about its architecture; :meth:`ModelHandle.load`
builds the :class:`~bench.models.seam.EvalModel`. Listing models and checking whether results
exist never load weights.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.errors import BenchError
from bench.registry import Registry

if TYPE_CHECKING:
    import torch

    from bench.models.seam import EvalModel


@dataclass(frozen=True)
class ModelHandle:
    """A resolved model name, not yet loaded.

    Attributes:
        name: The display name (``open_clip:ViT-B-32/laion2b_s34b_b79k``, ``ViT-B/32``).
        family: ``openai``, ``bench``, ``open_clip`` or ``hf``.
        slug: The results folder name: readable and distinct for distinct names.
        weights_sha256: sha256 of the weights file, or the registry's; None when it is known
            only after loading (a hub download not yet made).
        assumptions: What was assumed, not known, about the architecture.
        loader: ``(device, precision) -> EvalModel``.
    """

    name: str
    family: str
    slug: str
    weights_sha256: str | None
    assumptions: tuple[str, ...] = ()
    loader: Callable[[torch.device, str], EvalModel] = field(
        default=None, repr=False, compare=False
    )

    def load(self, device: str | torch.device = "cpu", precision: str = "fp32") -> EvalModel:
        """Builds the model on ``device`` (``fp32``, ``bf16`` or ``fp16`` weights).

        Raises:
            BenchError: the weights cannot be read, or do not fit the architecture.
        """
        import torch

        from bench.models.model import PRECISIONS

        if precision not in PRECISIONS:
            raise BenchError(
                f"unknown precision {precision!r}; valid choices: {', '.join(PRECISIONS)}"
            )
        return self.loader(torch.device(device), precision)


@dataclass(frozen=True)
class Family:
    """One model family.

    Attributes:
        name: The prefix of its model names (``open_clip`` in ``open_clip:ViT-B-32``).
        summary: One line for ``bench models``.
        syntax: How its names are written.
        extra: The pip extra it needs (``bench[open_clip]``), or None.
        resolve: ``(reference after the prefix, weights path or None) -> ModelHandle``.
        list_names: The names it can list offline (may need its extra).
    """

    name: str
    summary: str
    syntax: str
    extra: str | None
    resolve: Callable[[str, str | None], ModelHandle]
    list_names: Callable[[], list[str]]


FAMILIES: Registry[Family] = Registry("model family", "bench models")


def register(family: Family) -> Family:
    """Adds ``family`` to :data:`FAMILIES`; returns it."""
    FAMILIES.register(family.name, family)
    return family


_KEEP = re.compile(r"[A-Za-z0-9._+@-]")
_READABLE = {"/": "~", ":": "="}


def slug(name: str) -> str:
    """A folder name for a family-qualified model name, one-to-one.

    ``open_clip:ViT-B-32/laion2b_s34b_b79k`` -> ``open_clip=ViT-B-32~laion2b_s34b_b79k``;
    ``hf:org/name`` -> ``hf=org~name``. ``:`` and ``/`` read as ``=`` and ``~``; every other
    character outside ``[A-Za-z0-9._+@-]`` (``=`` and ``~`` included) becomes ``%XX``, so two
    names never share a slug.
    """
    out = []
    for i, ch in enumerate(name):
        if ch in _READABLE:
            out.append(_READABLE[ch])
        elif _KEEP.fullmatch(ch) and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
    return "".join(out) or "model"


def warn(message: str) -> None:
    """Prints a warning about an assumed architecture on stderr."""
    print(f"warning: {message}", file=sys.stderr)


def needs_extra(module: str, extra: str, family: str) -> BenchError:
    """The error for a family whose optional dependency is not installed."""
    return BenchError(
        f"the {family} family needs the {module!r} package, which is not installed; install "
        f"it with `pip install 'bench[{extra}]'`"
    )


def assumptions_note(assumptions: Sequence[str]) -> str:
    """``assumptions`` as one line, for a warning."""
    return "; ".join(assumptions)
