"""The detected pairs, for a person to look at: a CSV and a contact-sheet PNG.

CSV columns: ``test_index, test_path, train_index, train_path, similarity, exact``, one row
per overlapping test image (its best training match; for a pixel-identical copy, that copy),
sorted by test index. The contact sheet shows up to :data:`SHEET_PAIRS` pairs, lowest
similarity first (the doubtful ones are worth a look), test image left, training image right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from bench.io import atomic_write_bytes, atomic_write_text

SHEET_PAIRS = 48
TILE = 96
COLUMNS = ("test_index", "test_path", "train_index", "train_path", "similarity", "exact")


@dataclass(frozen=True)
class Pair:
    """One test image and the training image it duplicates."""

    test_index: int
    test_path: str
    train_index: int
    train_path: str
    similarity: float
    exact: bool


def write_pairs_csv(pairs: list[Pair], path: Path) -> None:
    """Writes the pairs (atomically)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in sorted(pairs, key=lambda p: p.test_index):
        writer.writerow(
            [
                p.test_index,
                p.test_path,
                p.train_index,
                p.train_path,
                f"{p.similarity:.4f}",
                int(p.exact),
            ]
        )
    atomic_write_text(path, buf.getvalue())


def read_pairs_csv(path: Path) -> list[Pair]:
    """Reads a file written by :func:`write_pairs_csv`."""
    with open(path, newline="", encoding="utf-8") as f:
        return [
            Pair(
                int(r["test_index"]),
                r["test_path"],
                int(r["train_index"]),
                r["train_path"],
                float(r["similarity"]),
                r["exact"] == "1",
            )
            for r in csv.DictReader(f)
        ]


def _tile(image: Image.Image) -> Image.Image:
    image = image.convert("RGB")
    image.thumbnail((TILE, TILE), Image.Resampling.BICUBIC)
    if image.width < TILE // 2:  # tiny test images (8x8 digits) are enlarged to be seen
        scale = (TILE // 2) // max(1, image.width)
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    tile = Image.new("RGB", (TILE, TILE), (255, 255, 255))
    tile.paste(image, ((TILE - image.width) // 2, (TILE - image.height) // 2))
    return tile


def write_contact_sheet(
    pairs: list[Pair],
    test_image: Callable[[int], Image.Image],
    train_image: Callable[[int], Image.Image],
    path: Path,
) -> bool:
    """Draws up to :data:`SHEET_PAIRS` pairs into a PNG; False (nothing written) if no pairs."""
    shown = sorted(pairs, key=lambda p: (p.similarity, p.test_index))[:SHEET_PAIRS]
    if not shown:
        return False
    per_row, label = 4, 14
    rows = (len(shown) + per_row - 1) // per_row
    sheet = Image.new("RGB", (per_row * (2 * TILE + 8), rows * (TILE + label + 6)), (235, 235, 235))
    draw = ImageDraw.Draw(sheet)
    for k, p in enumerate(shown):
        x, y = (k % per_row) * (2 * TILE + 8), (k // per_row) * (TILE + label + 6)
        sheet.paste(_tile(test_image(p.test_index)), (x, y))
        sheet.paste(_tile(train_image(p.train_index)), (x + TILE, y))
        text = f"#{p.test_index} {'exact' if p.exact else f'{p.similarity:.3f}'}"
        draw.text((x + 2, y + TILE + 1), text, fill=(0, 0, 0))
    buf = io.BytesIO()
    sheet.save(buf, "PNG")
    atomic_write_bytes(path, buf.getvalue())
    return True
