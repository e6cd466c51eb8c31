"""Synthetic near-duplicates: the edits the detector must see through, and scenes to edit.

The paper's duplicate detector (CLIP §5, Appendix C) was built to find copies that were
resized, re-encoded, cropped a little or recoloured. :func:`augment` applies one seeded
draw of those edits (alone or combined); the overlap run uses it to build its calibration
queries from the training images, and the tests and ``benchmarks/overlap_detector.py`` use
it on :func:`synthetic_scene` images.
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

#: The edit kinds :func:`augment` draws from (``combo`` applies two or three of the others).
EDITS = ("resize", "jpeg", "crop", "colour", "combo")


def _resize(im: Image.Image, rng: random.Random) -> Image.Image:
    scale = rng.uniform(0.4, 1.6)
    w, h = max(8, round(im.width * scale)), max(8, round(im.height * scale))
    return im.resize((w, h), Image.Resampling.BICUBIC)


def _jpeg(im: Image.Image, rng: random.Random) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=rng.randint(25, 90))
    with Image.open(io.BytesIO(buf.getvalue())) as out:
        return out.convert("RGB")


def _crop(im: Image.Image, rng: random.Random) -> Image.Image:
    """Keeps at least ~85% of each side (a 'small crop')."""
    w, h = im.size
    left, top = round(w * rng.uniform(0, 0.08)), round(h * rng.uniform(0, 0.08))
    right, bottom = w - round(w * rng.uniform(0, 0.08)), h - round(h * rng.uniform(0, 0.08))
    return im.crop((left, top, max(right, left + 1), max(bottom, top + 1)))


def _colour(im: Image.Image, rng: random.Random) -> Image.Image:
    im = ImageEnhance.Brightness(im).enhance(rng.uniform(0.7, 1.3))
    im = ImageEnhance.Contrast(im).enhance(rng.uniform(0.7, 1.3))
    im = ImageEnhance.Color(im).enhance(rng.uniform(0.5, 1.5))
    if rng.random() < 0.5:  # a small hue shift
        hsv = np.asarray(im.convert("HSV")).copy()
        hsv[..., 0] = (hsv[..., 0].astype(int) + rng.randint(-15, 15)) % 256
        im = Image.fromarray(hsv, "HSV").convert("RGB")
    return im


_OPS = {"resize": _resize, "jpeg": _jpeg, "crop": _crop, "colour": _colour}


def augment(image: Image.Image, seed: int | str, kind: str | None = None) -> Image.Image:
    """One seeded near-duplicate of ``image``.

    Args:
        image: The original (RGB).
        seed: Seeds the edit's parameters (and its kind when ``kind`` is None).
        kind: One of :data:`EDITS`, or None to draw one.

    Returns:
        The edited RGB image.
    """
    rng = random.Random(f"augment/{seed}")
    kind = kind or rng.choice(EDITS)
    im = image.convert("RGB")
    if kind == "combo":
        for name in rng.sample(sorted(_OPS), rng.randint(2, 3)):
            im = _OPS[name](im, rng)
        return im
    return _OPS[kind](im, rng)


def synthetic_scene(seed: int, size: tuple[int, int] = (96, 96)) -> Image.Image:
    """A random scene: a colour gradient, shapes and texture (distinct per seed).

    Stands in for natural images where none can be downloaded: unrelated scenes share
    layouts and colours often enough to make the negatives non-trivial.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    t = np.clip((np.cos(angle) * xx + np.sin(angle) * yy + 1) / 2, 0, 1)[..., None]
    base = (c0 * (1 - t) + c1 * t).astype(np.uint8)
    im = Image.fromarray(base, "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = rng.integers(-w // 4, w, 2)
        x1, y1 = x0 + rng.integers(w // 8, w // 2), y0 + rng.integers(h // 8, h // 2)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = rng.integers(0, 3)
        if shape == 0:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif shape == 1:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            draw.line((x0, y0, x1, y1), fill=fill, width=int(rng.integers(2, 8)))
    noise = rng.normal(0, rng.uniform(2, 18), (h, w, 1))
    arr = np.clip(np.asarray(im, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2)))
