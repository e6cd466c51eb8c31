"""Miniature image-caption datasets in the exact on-disk formats ``bench train`` reads.

Used by tests/test_train_*.py and tests/test_demo*.py. Each writer returns the path to pass as
``data`` and the captions it wrote.
"""

from __future__ import annotations

import csv
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

COLOURS = ("red", "green", "blue", "yellow")
RGB = {
    "red": (220, 30, 30),
    "green": (30, 200, 40),
    "blue": (40, 40, 230),
    "yellow": (230, 220, 30),
}


def make_image(i: int, size: int = 20) -> tuple[Image.Image, str]:
    """A noisy square in one of four colours, and its caption."""
    colour = COLOURS[i % len(COLOURS)]
    rng = np.random.default_rng(i)
    arr = rng.integers(0, 50, (size, size, 3)).astype(np.int32) + np.array(RGB[colour]) // 2
    arr[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = RGB[colour]
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8)), f"a {colour} square number {i}"


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def write_csv(
    folder: Path, n: int, sep: str = ",", corrupt: tuple[int, ...] = ()
) -> tuple[Path, list[str]]:
    """``pairs.csv`` (or ``.tsv``) with columns filepath,caption and images in ``images/``.

    Rows in ``corrupt`` point at a truncated PNG file.
    """
    (folder / "images").mkdir(parents=True, exist_ok=True)
    path = folder / ("pairs.tsv" if sep == "\t" else "pairs.csv")
    captions = []
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=sep)
        writer.writerow(["filepath", "caption"])
        for i in range(n):
            image, caption = make_image(i)
            data = png_bytes(image)
            if i in corrupt:
                data = data[: len(data) // 3]
            (folder / "images" / f"{i:04d}.png").write_bytes(data)
            writer.writerow([f"images/{i:04d}.png", caption])
            captions.append(caption)
    return path, captions


def write_shard(
    path: Path, start: int, n: int, corrupt: tuple[int, ...] = (), incomplete: tuple[int, ...] = ()
) -> list[str]:
    """A WebDataset shard: ``KEY.{png,jpg,webp}`` + ``KEY.txt`` per sample.

    Samples in ``corrupt`` hold garbage image bytes; those in ``incomplete`` have no caption.
    """
    captions = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for i in range(start, start + n):
            image, caption = make_image(i)
            ext, fmt = (("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP"))[i % 3]
            data = b"this is not an image" if i in corrupt else png_bytes(image, fmt)
            files = [(f"sample{i:06d}.{ext}", data)]
            if i not in incomplete:
                files.append((f"sample{i:06d}.txt", caption.encode()))
                captions.append(caption)
            for name, blob in files:
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    return captions


def write_hf(folder: Path, n: int, corrupt: tuple[int, ...] = ()) -> tuple[Path, list[str]]:
    """A Hugging Face dataset with an ``image`` (Image feature) and a ``text`` column,
    saved with ``save_to_disk``."""
    import datasets

    images, captions = [], []
    for i in range(n):
        image, caption = make_image(i)
        data = b"\x89PNG broken" if i in corrupt else png_bytes(image)
        images.append({"bytes": data, "path": None})
        captions.append(caption)
    features = datasets.Features({"image": datasets.Image(), "text": datasets.Value("string")})
    ds = datasets.Dataset.from_dict({"image": images, "text": captions}, features=features)
    path = folder / "hf_pairs"
    ds.save_to_disk(str(path))
    return path, captions


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models train faster on one thread, and the test machine's cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
