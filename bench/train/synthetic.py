"""Synthetic captioned digit images that look like scikit-learn's digits, generated in code.

scikit-learn's digits (UCI "Optical Recognition of Handwritten Digits") were made by scanning a
handwritten digit into a 32x32 bitmap, size-normalised, and counting the ink pixels in each
4x4 block: 8x8 images of 17 grey levels, white ink on black once scaled to 0-255. The
generator does the same to drawn digits. A digit is either typeset with a font (PIL's default
font at a chosen size, or one of the TrueType fonts bundled with matplotlib, so the data is the
same on every machine) or drawn with a round pen along a jittered skeleton of the digit (closer
to handwriting than any font: flagged 1s, open 4s, crossed 7s, ...); then slanted, rotated,
binarised at 32x32 with the ink's bounding box normalised to the full height as UCI did, its
strokes widened at random, reduced to 4x4 block counts, and tinted (mostly white on black,
sometimes coloured ink on a dark ground). The ``digits`` task shows its images upscaled with
nearest-neighbour, so the synthetic ones are upscaled the same way.

Captions mix numerals and number words in several phrasings ("a photo of the number seven",
"the digit 7", "a handwritten 7", ...).
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CAPTIONS = (
    "a photo of the number {n}.",
    "a photo of the number {w}.",
    "the digit {n}",
    "the digit {w}",
    "a drawing of the digit {n}.",
    "a handwritten {n}",
    "a handwritten {w}",
    "the number {w}, written by hand",
    "a small grey picture of a {n}",
    "{n}",
    "a scan of the digit {n}",
    "a blurry {w}",
)
# TeX/STIX fonts whose code points for "0".."9" hold symbols or oversized delimiters
SYMBOL_FONTS = ("cmex10", "cmsy10", "STIXSiz", "STIXNonUni", "LastResort")
CANVAS = 96
# Dilation at 32x32: the scanned pen strokes are 2-4 pixels wide, wider than most fonts'.
PEN_EXTRA = (0, 1)
PEN_SHARE = 0.6  # share of digits drawn with a pen along a skeleton rather than a font
ELASTIC_ALPHA, ELASTIC_SIGMA = (
    60.0,
    8.0,
)  # displacement scale and smoothness, canvas pixels  # drawing resolution before normalisation to the 32x32 bitmap


@functools.lru_cache(maxsize=1)
def font_files() -> tuple[str, ...]:
    """matplotlib's bundled TrueType fonts that draw ten distinct digits."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    usable = []
    for path in sorted(folder.glob("*.ttf")):
        if path.name.startswith(SYMBOL_FONTS):
            continue
        try:
            font = ImageFont.truetype(str(path), 48)
        except OSError:
            continue
        if _draws_digits(font):
            usable.append(str(path))
    return tuple(usable)


def _draws_digits(font: ImageFont.FreeTypeFont) -> bool:
    """True when the ten digits render as ten different, non-empty glyphs."""
    shapes = set()
    for d in range(10):
        img = Image.new("L", (80, 80))
        ImageDraw.Draw(img).text((10, 5), str(d), fill=255, font=font)
        arr = np.asarray(img) > 127
        if arr.sum() < 20:
            return False
        shapes.add(arr.tobytes())
    return len(shapes) == 10


def _font(rng: random.Random) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = rng.randint(44, 72)
    files = font_files()
    if not files or rng.random() < 0.15:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(rng.choice(files), size)


def draw_digit(digit: int, rng: random.Random) -> np.ndarray:
    """A binary ``[32, 32]`` bitmap of ``digit``, size-normalised like the UCI scans.

    Half the digits are typeset with a font, half drawn with a pen along a jittered skeleton
    (:data:`SKELETONS`), closer to handwriting than any font.
    """
    img = Image.new("L", (CANVAS, CANVAS))
    if rng.random() < PEN_SHARE:
        _pen_digit(ImageDraw.Draw(img), digit, rng)
    else:
        _font_digit(ImageDraw.Draw(img), digit, rng)
    shear = rng.uniform(-0.35, 0.35)  # slant, as handwriting leans
    img = img.transform(
        img.size, Image.AFFINE, (1, shear, -shear * CANVAS / 2, 0, 1, 0), resample=Image.BILINEAR
    )
    img = img.rotate(rng.uniform(-15, 15), resample=Image.BILINEAR)
    box = img.getbbox()
    if box is None:
        return np.zeros((32, 32), dtype=bool)
    return _normalise(img.crop(box), rng)


def _font_digit(draw: ImageDraw.ImageDraw, digit: int, rng: random.Random) -> None:
    stroke = rng.choice((0, 0, 1, 2, 3))
    draw.text(
        (CANVAS / 2, CANVAS / 2),
        str(digit),
        fill=255,
        font=_font(rng),
        anchor="mm",
        stroke_width=stroke,
        stroke_fill=255,
    )


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 12):
    """Points on an elliptic arc from angle ``a0`` to ``a1`` (degrees; y grows downwards)."""
    return [
        (cx + rx * np.cos(np.radians(a)), cy + ry * np.sin(np.radians(a)))
        for a in np.linspace(a0, a1, n)
    ]


def _skeletons() -> dict[int, list[list[list[tuple[float, float]]]]]:
    """Per digit, variants; a variant is a list of strokes (polylines in the unit square)."""
    return {
        0: [[_arc(0.5, 0.5, 0.42, 0.5, -90, 275, 20)]],
        1: [
            [[(0.55, 0.0), (0.5, 1.0)]],
            [[(0.05, 0.35), (0.6, 0.0), (0.55, 1.0)]],
            [[(0.1, 0.3), (0.6, 0.0), (0.55, 1.0)], [(0.1, 1.0), (0.95, 1.0)]],
        ],
        2: [
            [_arc(0.5, 0.3, 0.4, 0.3, 190, 370) + [(0.1, 1.0), (0.95, 1.0)]],
            [_arc(0.5, 0.3, 0.4, 0.3, 190, 390) + [(0.1, 1.0), (0.3, 0.9), (0.95, 1.0)]],
        ],
        3: [[_arc(0.45, 0.25, 0.4, 0.25, 200, 450) + _arc(0.45, 0.73, 0.45, 0.27, -90, 160)]],
        4: [
            [[(0.65, 0.0), (0.05, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.7, 1.0)]],
            [[(0.7, 0.0), (0.05, 0.6), (0.95, 0.6)], [(0.7, 0.0), (0.7, 1.0)]],
            [[(0.2, 0.0), (0.1, 0.6), (0.9, 0.6)], [(0.75, 0.0), (0.75, 1.0)]],
        ],
        5: [[[(0.9, 0.0), (0.25, 0.0), (0.15, 0.45)] + _arc(0.45, 0.7, 0.45, 0.3, -120, 160)]],
        6: [
            [
                [(0.8, 0.02)]
                + _arc(0.85, 0.7, 0.7, 0.68, -105, -185, 6)
                + _arc(0.5, 0.72, 0.36, 0.28, 180, 540, 16)
            ]
        ],
        7: [
            [[(0.05, 0.0), (0.95, 0.0), (0.35, 1.0)]],
            [[(0.05, 0.0), (0.95, 0.0), (0.35, 1.0)], [(0.3, 0.5), (0.8, 0.5)]],
        ],
        8: [[_arc(0.5, 0.24, 0.33, 0.24, 90, 450, 16) + _arc(0.5, 0.73, 0.42, 0.27, -90, 270, 16)]],
        9: [
            [_arc(0.5, 0.28, 0.4, 0.28, 0, 360, 16) + [(0.9, 0.3), (0.75, 1.0)]],
            [_arc(0.5, 0.28, 0.4, 0.28, 0, 360, 16) + _arc(0.1, 0.3, 0.8, 0.7, 0, 90, 6)],
            [_arc(0.5, 0.28, 0.4, 0.28, 0, 360, 16) + _arc(0.5, 0.6, 0.4, 0.35, 0, 150, 8)],
        ],
    }


SKELETONS = _skeletons()


def _pen_digit(draw: ImageDraw.ImageDraw, digit: int, rng: random.Random) -> None:
    """Draws a jittered skeleton of ``digit`` with a round pen."""
    variant = rng.choice(SKELETONS[digit])
    width, height = rng.uniform(40, 65), 80.0
    x0, y0 = (CANVAS - width) / 2, (CANVAS - height) / 2
    pen = rng.randint(5, 11)
    wobble = [(rng.gauss(0, 0.04), rng.gauss(0, 0.03)) for _ in range(4)]
    for stroke in variant:
        points = []
        for i, (x, y) in enumerate(stroke):
            dx, dy = wobble[i * 4 // max(1, len(stroke))]  # smooth: a few shared offsets
            points.append(
                (
                    x0 + (x + dx + rng.gauss(0, 0.01)) * width,
                    y0 + (y + dy + rng.gauss(0, 0.01)) * height,
                )
            )
        draw.line(points, fill=255, width=pen, joint="curve")
        for x, y in (points[0], points[-1]):  # round pen ends
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=255)


def _normalise(glyph: Image.Image, rng: random.Random) -> np.ndarray:
    """Scales the ink's bounding box to the 32x32 frame's full height, centred, as UCI did.

    The width follows the aspect ratio, narrowed a little at random: handwritten digits are
    narrower than most fonts' (mean ink width 5.4 of 8 columns in scikit-learn's digits).
    """
    w, h = glyph.size
    nw = max(1, min(32, round(w * 32 / h * rng.uniform(0.65, 1.0))))
    small = glyph.resize((nw, 32), Image.BILINEAR)
    frame = Image.new("L", (32, 32))
    left = (32 - nw) // 2 + rng.randint(-2, 2)
    frame.paste(small, (max(0, min(32 - nw, left)), 0))
    return thicken(np.asarray(frame) > rng.randint(70, 150), rng.choice(PEN_EXTRA))


def thicken(bitmap: np.ndarray, extra: int) -> np.ndarray:
    """Widens every stroke by ``extra`` pixels (a square dilation towards right and down)."""
    out = bitmap.copy()
    h, w = bitmap.shape
    for dy in range(extra + 1):
        for dx in range(extra + 1):
            out[dy:, dx:] |= bitmap[: h - dy, : w - dx]
    return out


def block_counts(bitmap: np.ndarray) -> np.ndarray:
    """UCI's reduction: ink pixels per 4x4 block of a 32x32 bitmap, as 0..255 grey (8x8)."""
    counts = bitmap.reshape(8, 4, 8, 4).sum(axis=(1, 3))
    return np.rint(counts * (255.0 / 16.0)).astype(np.uint8)


def tint(grey: np.ndarray, rng: random.Random) -> np.ndarray:
    """Grey ``[H, W]`` to RGB: mostly white on black, sometimes coloured ink on a dark ground."""
    g = grey.astype(np.float32)[..., None] / 255.0
    if rng.random() < 0.6:
        ink, ground = np.array([255.0] * 3), np.zeros(3)
    else:
        ink = np.array([rng.uniform(150, 255) for _ in range(3)])
        ground = np.array([rng.uniform(0, 60) for _ in range(3)])
    return np.rint(ground + g * (ink - ground)).clip(0, 255).astype(np.uint8)


def make_example(digit: int, rng: random.Random, size: int = 32) -> Image.Image:
    """One synthetic digit image: 8x8 block counts, tinted, upscaled (nearest) to ``size``."""
    rgb = tint(block_counts(draw_digit(digit, rng)), rng)
    return Image.fromarray(rgb).resize((size, size), Image.NEAREST)


def caption(digit: int, rng: random.Random) -> str:
    """A caption naming ``digit`` as a numeral or a word."""
    return rng.choice(CAPTIONS).format(n=digit, w=WORDS[digit])


def generate(
    n: int, seed: int = 0, size: int = 32
) -> tuple[list[Image.Image], list[int], list[str]]:
    """``n`` images (balanced over the ten digits), their labels and captions."""
    rng = random.Random(seed)
    labels = [i % 10 for i in range(n)]
    rng.shuffle(labels)
    images = [make_example(d, rng, size) for d in labels]
    captions = [caption(d, rng) for d in labels]
    return images, labels, captions
