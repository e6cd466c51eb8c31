"""The embedded digits task, end to end and offline (issue 3, point 7)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bench.datasets import digits as digits_loader
from bench.tasks import get_task


def test_digits_task_metadata():
    task = get_task("digits")
    assert task.num_classes == 10 and task.classnames == tuple(str(d) for d in range(10))
    assert task.metric == "accuracy" and task.tags == ("embedded",)
    assert "a photo of the number {}." in task.templates
    assert task.is_present()


def test_digits_splits_cover_the_1797_images_disjointly():
    task = get_task("digits")
    parts = {s: task.dataset(s) for s in ("train", "val", "test")}
    sizes = {s: len(d) for s, d in parts.items()}
    assert sizes == task.expected_sizes() == {"train": 1080, "val": 120, "test": 597}
    assert sum(sizes.values()) == 1797 == digits_loader.NUM_IMAGES
    full = digits_loader.split_indices(597, 0)
    assert not set(full["train"]) & set(full["test"])
    assert set(parts["val"].indices) <= set(range(1200))
    assert not set(parts["train"].indices) & set(parts["val"].indices)
    # every class appears in every split (stratified), in proportion
    for d in parts.values():
        counts = np.bincount(np.asarray(d.labels), minlength=10)
        assert counts.min() > 0 and counts.max() - counts.min() <= 0.1 * len(d) + 2


def test_digits_split_is_deterministic():
    task = get_task("digits")
    a, b = task.dataset("val"), task.dataset("val")
    assert np.array_equal(np.asarray(a.labels), np.asarray(b.labels))
    assert np.array_equal(np.asarray(a[5][0]), np.asarray(b[5][0]))


def test_digits_items_are_rgb_images_with_int_labels():
    test = get_task("digits").dataset("test")
    image, label = test[0]
    assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (32, 32)
    assert isinstance(label, int) and label == int(test.labels[0])
    arr = np.asarray(image)
    assert arr.max() > 200 and arr.min() == 0  # 0..16 grey levels spread to 0..255
    assert np.array_equal(arr[..., 0], arr[..., 2])  # grey


def test_digits_images_are_the_sklearn_digits():
    from sklearn.datasets import load_digits

    ref = load_digits()
    ds = digits_loader.load(None, "test", "/nonexistent", image_size=8)
    idx = digits_loader.split_indices(597, 0)["test"]
    got = np.asarray(ds[3][0])[..., 0].astype(float) * 16 / 255
    assert np.allclose(got, ref.images[idx[3]], atol=0.05)
    assert ds[3][1] == ref.target[idx[3]]


def test_digits_shifted_has_same_splits_and_labels_but_shifted_pixels():
    import numpy as np

    clean, shifted = get_task("digits"), get_task("digits_shifted")
    for split in ("train", "val", "test"):
        a, b = clean.dataset(split), shifted.dataset(split)
        assert list(a.labels) == list(b.labels)
    a, b = clean.dataset("test"), shifted.dataset("test")
    diffs = [np.abs(np.asarray(a[i][0], int) - np.asarray(b[i][0], int)).mean() for i in range(20)]
    assert min(diffs) > 5  # every image is visibly changed
    again = shifted.dataset("test")
    assert np.array_equal(np.asarray(b[3][0]), np.asarray(again[3][0]))  # deterministic


def test_digits_unknown_shift_is_a_one_line_error():
    from bench.datasets import digits
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="unknown digits shift 'blur'.*rotate, noise, invert"):
        digits.load(None, "test", ".", shift=["blur"])
