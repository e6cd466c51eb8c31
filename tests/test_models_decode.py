"""Tensor-path decoding and preprocessing (``--decode gpu``) against OpenAI's PIL path."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import sklearn
import torch
from PIL import Image

from bench.errors import CorruptImageError
from bench.models.decode import decode_and_preprocess, preprocess_id
from bench.models.transforms import STD, image_transform

# Two real photographs (JPEG) that scikit-learn ships.
REAL_JPEGS = sorted((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg"))
CPU = torch.device("cpu")


def _pixel_levels(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|a - b| in 8-bit pixel levels (undoing the normalisation)."""
    return (a - b).abs() * torch.tensor(STD).view(1, 3, 1, 1) * 255


@pytest.mark.parametrize("resolution", [224, 336])
def test_real_jpegs_match_openai_preprocessing_within_a_few_levels(resolution):
    assert len(REAL_JPEGS) == 2
    blobs = [p.read_bytes() for p in REAL_JPEGS]
    ours = decode_and_preprocess(blobs, [str(p) for p in REAL_JPEGS], resolution, CPU)
    ref = torch.stack([image_transform(resolution)(Image.open(p)) for p in REAL_JPEGS])
    assert ours.shape == ref.shape == (2, 3, resolution, resolution)
    diff = _pixel_levels(ours, ref)
    # measured on this machine: mean 0.28 levels, max 3.0 (224) / 5.2 (336)
    assert diff.mean() < 0.5
    assert diff.max() < 8


def test_png_and_grey_images_take_the_fallback_and_agree():
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (40, 60), dtype=np.uint8), mode="L")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    ours = decode_and_preprocess([buf.getvalue()], ["grey.png"], 32, CPU)
    ref = image_transform(32)(img).unsqueeze(0)
    assert ours.shape == (1, 3, 32, 32)
    assert _pixel_levels(ours, ref).mean() < 1.0


def test_a_corrupt_file_is_named():
    with pytest.raises(CorruptImageError, match="broken.jpg"):
        decode_and_preprocess([b"\xff\xd8\xff" + b"\x00" * 50], ["broken.jpg"], 32, CPU)


def test_cache_id_differs_from_the_pil_path():
    from bench.models.transforms import preprocess_id as pil_id

    assert preprocess_id(224, "cuda") != pil_id(224)
    assert preprocess_id(224, "cuda") != preprocess_id(336, "cuda")
