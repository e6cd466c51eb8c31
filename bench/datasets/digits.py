"""The embedded ``digits`` task: scikit-learn's 1,797 handwritten 8x8 digits, offline.

The data ships with scikit-learn (``sklearn.datasets.load_digits``: UCI's "Optical Recognition
of Handwritten Digits", 16 grey levels), so this task needs no download and works in tests,
demos and CI. Images become RGB PIL images, upscaled with nearest-neighbour so each original
pixel stays a sharp block (the model's preprocessing then resizes them). The test split is a
seeded, class-stratified part of the 1,797 images; ``Task.dataset`` carves ``val`` from
``train`` the same way.

The ``shift`` option builds a distribution-shifted copy with the same splits (the demo's
robustness view, task ``digits_shifted``): ``rotate`` (a seeded angle in [-35, 35] degrees per
image), ``noise`` (Gaussian, sigma 48 of 255), ``invert`` (dark digits on a light ground). Each
image's shift is seeded by its index among the 1,797, so it is the same in every split and run.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

from bench.datasets._splits import stratified_split
from bench.errors import BenchError

NUM_IMAGES = 1797
SHIFTS = ("rotate", "noise", "invert")


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    # 0..16 grey levels -> 0..255 uint8
    images = np.rint(bunch.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    return images, bunch.target.astype(np.int64)


class DigitsDataset:
    """A split of the digits: ``(PIL.Image RGB, int label)`` items and ``.labels``.

    Args:
        images: ``[N, 8, 8]`` uint8 grey images.
        labels: ``[N]`` int labels 0-9.
        image_size: Side of the returned images (nearest-neighbour upscaling from 8).
        shifts: Shifts applied in order (see the module docstring); none by default.
        ids: Each image's index among the 1,797 (seeds its shift).
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        image_size: int = 8,
        shifts: tuple[str, ...] = (),
        ids: np.ndarray | None = None,
    ) -> None:
        self.images = images
        self.labels = labels
        self.image_size = image_size
        self.shifts = shifts
        self.ids = np.arange(len(labels)) if ids is None else ids

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        img = Image.fromarray(self.images[i], mode="L")
        if self.image_size != img.width:
            img = img.resize((self.image_size, self.image_size), Image.NEAREST)
        if self.shifts:
            img = apply_shifts(img, self.shifts, int(self.ids[i]))
        return img.convert("RGB"), int(self.labels[i])


def apply_shifts(img: Image.Image, shifts: tuple[str, ...], image_id: int) -> Image.Image:
    """Applies ``shifts`` to a grey image, seeded by ``image_id`` (deterministic)."""
    rng = np.random.default_rng(1_000_003 + image_id)
    for shift in shifts:
        if shift == "rotate":
            img = img.rotate(float(rng.uniform(-35.0, 35.0)), resample=Image.BILINEAR)
        elif shift == "noise":
            arr = np.asarray(img, dtype=np.float64) + rng.normal(0.0, 48.0, (img.height, img.width))
            img = Image.fromarray(arr.clip(0, 255).astype(np.uint8), mode="L")
        elif shift == "invert":
            img = Image.fromarray(255 - np.asarray(img, dtype=np.uint8), mode="L")
    return img


def split_indices(test_size: int, seed: int) -> dict[str, np.ndarray]:
    """Indices of the ``train`` (train+val) and ``test`` parts of the 1,797 digits."""
    _, labels = _digits()
    train, test = stratified_split(labels, test_size, seed)
    return {"train": train, "test": test}


def load(
    task: Any,
    split: str,
    root: str | os.PathLike[str],
    fold: int | None = None,
    *,
    test_size: int = 597,
    seed: int = 0,
    image_size: int = 32,
    shift: list[str] | None = None,
) -> DigitsDataset:
    """The ``train`` (train+val, from which ``Task.dataset`` carves val) or ``test`` split.

    Args:
        task: The task (unused: the data is embedded).
        split: ``"train"`` or ``"test"``.
        root: Unused (nothing on disk).
        fold: Must be None.
        test_size: Size of the seeded, stratified test split.
        seed: Seed of that split.
        image_size: Side of the returned images.
        shift: Distribution shifts to apply, from :data:`SHIFTS` (task ``digits_shifted``).

    Returns:
        A :class:`DigitsDataset`.

    Raises:
        ValueError: for another split (a bug in the caller: ``Task.dataset`` checks splits).
        BenchError: for an unknown shift in the task file.
    """
    shifts = tuple(shift or ())
    for name in shifts:
        if name not in SHIFTS:
            raise BenchError(
                f"unknown digits shift {name!r} in the task file; valid shifts: {', '.join(SHIFTS)}"
            )
    if split not in ("train", "test") or fold is not None:
        raise ValueError(
            f"digits has splits 'train' and 'test' and no folds, got {split!r}, {fold!r}"
        )
    images, labels = _digits()
    idx = split_indices(test_size, seed)[split]
    return DigitsDataset(images[idx], labels[idx], image_size, shifts, ids=idx)


def is_present(task: Any, root: str | os.PathLike[str], **options: Any) -> bool:
    """Always true: the digits ship with scikit-learn."""
    return True


def download(task: Any, root: str | os.PathLike[str], **options: Any) -> None:
    """Nothing to do: the digits ship with scikit-learn."""
