"""Image descriptors for the duplicate search: a weight-free default and a model's embeddings.

A :class:`Detector` turns a PIL image into a vector (``prepare``, run in data-loader
workers) and a batch of those into L2-normalised embeddings (``embed``), so that the cosine
similarity of two images is a dot product.

The default, ``thumb``, needs no weights and is deterministic: the grey image as a 16x16
box-filtered thumbnail, and its 24x24 thumbnail minus a Gaussian blur of it (a band-pass
that ignores smooth gradients and keeps shapes); each is centred and unit-normalised, and
the two are concatenated (832 numbers). Centring and normalising remove brightness and
contrast changes, the box filter absorbs resizing and JPEG noise, and grey ignores most
colour shifts; a small crop moves the content by under a thumbnail pixel. Measured with
``benchmarks/overlap_detector.py`` (numbers in the README's overlap section).

``model`` uses a model's image embeddings through :class:`bench.models.seam.EvalModel`.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from PIL import Image, ImageFilter

from bench.errors import BenchError
from bench.models.seam import EvalModel
from bench.settings import precision_dtype

#: Detector names accepted by ``bench overlap --detector``.
DETECTORS = ("thumb", "model")


class Detector(Protocol):
    """Turns images into unit vectors whose dot products are image similarities."""

    id: str

    def prepare(self, image: Image.Image) -> torch.Tensor:
        """One image -> a tensor (runs in data-loader workers)."""

    def embed(self, batch: torch.Tensor) -> torch.Tensor:
        """Stacked prepared tensors -> ``[B, D]`` float32, L2-normalised, on the search device."""


def _centred_unit(v: np.ndarray) -> np.ndarray:
    v = v - v.mean()
    return v.ravel() / max(float(np.linalg.norm(v)), 1e-8)


class ThumbDetector:
    """The weight-free default descriptor (see the module docstring)."""

    id = "thumb-v1"

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)

    def prepare(self, image: Image.Image) -> torch.Tensor:
        grey = image.convert("L")
        coarse = np.asarray(grey.resize((16, 16), Image.Resampling.BOX), dtype=np.float64)
        fine_im = grey.resize((24, 24), Image.Resampling.BOX)
        fine = np.asarray(fine_im, dtype=np.float64)
        low = np.asarray(fine_im.filter(ImageFilter.GaussianBlur(4)), dtype=np.float64)
        vec = np.concatenate([_centred_unit(coarse), _centred_unit(fine - low)]) / np.sqrt(2)
        return torch.from_numpy(vec.astype(np.float32))

    def embed(self, batch: torch.Tensor) -> torch.Tensor:
        return _normalise(batch.to(self.device, torch.float32))


class ModelDetector:
    """A model's image embeddings (its own preprocessing), cosine-compared."""

    def __init__(self, model: EvalModel, precision: str = "fp32") -> None:
        self.model = model
        self.precision = precision
        self.id = f"model:{model.name}:{model.weights_sha256[:12]}:{model.preprocess_id}"

    def prepare(self, image: Image.Image) -> torch.Tensor:
        return self.model.preprocess(image)

    def embed(self, batch: torch.Tensor) -> torch.Tensor:
        device = self.model.device
        autocast = torch.autocast(
            device.type, dtype=precision_dtype(self.precision), enabled=self.precision != "fp32"
        )
        with torch.inference_mode(), autocast:
            emb = self.model.encode_image(batch.to(device))
        return _normalise(emb.float())


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def make_detector(
    name: str, device: torch.device, model: EvalModel | None = None, precision: str = "fp32"
) -> Detector:
    """The detector called ``name`` (one of :data:`DETECTORS`).

    Raises:
        BenchError: an unknown name, or ``model`` without a model.
    """
    if name == "thumb":
        return ThumbDetector(device)
    if name == "model":
        if model is None:
            raise BenchError("--detector model needs --model M (the model whose embeddings to use)")
        return ModelDetector(model, precision)
    raise BenchError(f"unknown detector {name!r}; valid choices: {', '.join(DETECTORS)}")
