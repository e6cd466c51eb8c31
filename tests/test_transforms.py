"""Preprocessing against OpenAI's ``_transform``, rebuilt here exactly as clip/clip.py writes it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
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
from bench.models import image_transform, preprocess_id

BICUBIC = InterpolationMode.BICUBIC


def _convert_image_to_rgb(image):
    return image.convert("RGB")


def reference_transform(n_px):
    """openai/CLIP clip/clip.py ``_transform``, verbatim."""
    return Compose(
        [
            Resize(n_px, interpolation=BICUBIC),
            CenterCrop(n_px),
            _convert_image_to_rgb,
            ToTensor(),
            Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
        ]
    )


def random_image(mode: str, width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1, "LA": 2}
    if mode == "P":
        return random_image("RGB", width, height, seed).quantize(colors=64)
    shape = (height, width, channels[mode]) if channels[mode] > 1 else (height, width)
    return Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8), mode=mode)


IMAGES = [
    ("RGBA", 97, 53),  # wide, alpha
    ("L", 40, 120),  # tall, grey
    ("RGB", 300, 200),  # larger than the output
    ("RGB", 17, 23),  # smaller: upsampled
    ("P", 64, 31),  # palette
    ("LA", 50, 50),  # square, grey with alpha
]


@pytest.mark.parametrize("resolution", [224, 32, 336])
@pytest.mark.parametrize(("mode", "width", "height"), IMAGES)
def test_equals_openai_transform(resolution, mode, width, height):
    image = random_image(mode, width, height, seed=width * height)
    ours = image_transform(resolution)(image)
    theirs = reference_transform(resolution)(image)
    assert ours.shape == (3, resolution, resolution) and ours.dtype == torch.float32
    assert torch.equal(ours, theirs)


def test_normalisation_constants_are_applied():
    white = Image.new("RGB", (40, 30), (255, 255, 255))
    out = image_transform(8)(white)
    expected = [
        (1 - m) / s
        for m, s in zip(
            (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711), strict=True
        )
    ]
    assert torch.allclose(out.mean(dim=(1, 2)), torch.tensor(expected), atol=1e-6)


def test_transform_pickles_for_dataloader_workers():
    image = random_image("RGBA", 70, 40)
    transform = pickle.loads(pickle.dumps(image_transform(64)))
    assert torch.equal(transform(image), reference_transform(64)(image))


def test_preprocess_id_is_stable_and_distinct():
    assert preprocess_id(224) == preprocess_id(224)
    assert len({preprocess_id(r) for r in (224, 288, 336, 384, 448)}) == 5
    assert "224" in preprocess_id(224)


@pytest.mark.parametrize("bad", [0, -1, 224.0, "224", True, None])
def test_bad_resolution_names_the_value(bad):
    with pytest.raises(BenchError, match="positive integer"):
        image_transform(bad)
    with pytest.raises(BenchError, match=repr(bad).replace("(", r"\(")):
        preprocess_id(bad)
