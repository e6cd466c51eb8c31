"""OpenAI's CLIP image preprocessing, step for step.

Resize the short side to the model's resolution (bicubic), centre-crop a square, convert to
RGB, scale to [0, 1] and normalise with the mean and standard deviation of CLIP's training
images. The steps and their order are those of ``_transform`` in openai/CLIP's ``clip.py``, so
given the same image the tensors are identical.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from PIL import Image
from torchvision.transforms import (
    CenterCrop,
    Compose,
    InterpolationMode,
    Normalize,
    Resize,
    ToTensor,
)

from bench.errors import BenchError

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)

# Bump when anything that changes the tensors changes: feature caches are keyed on it.
_PREPROCESS_VERSION = 1


def _convert_to_rgb(image: Image.Image) -> Image.Image:
    # A module-level function (not a lambda) so that the transform pickles for DataLoader workers.
    return image.convert("RGB")


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise BenchError(
            f"image resolution must be a positive integer, got {resolution!r}; the nine CLIP "
            "models use 224, 288, 336, 384 or 448 (see `bench models`)"
        )
    return resolution


def image_transform(resolution: int) -> Callable[[Image.Image], torch.Tensor]:
    """OpenAI's preprocessing for a model whose input is ``resolution`` × ``resolution``.

    Args:
        resolution: The model's input size in pixels (``model.image_resolution``).

    Returns:
        A callable (a torchvision ``Compose``) mapping a PIL image of any size and mode to a
        float tensor of shape ``[3, resolution, resolution]``.

    Raises:
        BenchError: if ``resolution`` is not a positive integer.
    """
    n_px = _check_resolution(resolution)
    return Compose(
        [
            Resize(n_px, interpolation=InterpolationMode.BICUBIC),
            CenterCrop(n_px),
            _convert_to_rgb,
            ToTensor(),
            Normalize(MEAN, STD),
        ]
    )


def preprocess_id(resolution: int) -> str:
    """A stable name for :func:`image_transform` at ``resolution``, for cache keys.

    Two calls give the same string exactly when the transforms give the same tensors.

    Raises:
        BenchError: if ``resolution`` is not a positive integer.
    """
    n_px = _check_resolution(resolution)
    return f"openai-clip-v{_PREPROCESS_VERSION}-r{n_px}-bicubic-centercrop-rgb-norm"
