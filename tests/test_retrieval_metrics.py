"""Recall at k (bench.metrics ``retrieval_recall``) against a brute-force count written out in
the test."""

from __future__ import annotations

import numpy as np
import pytest

from bench.errors import BenchError
from bench.metrics import compute_details, score


def _brute(sim: np.ndarray, text_image: np.ndarray, k: int) -> tuple[float, float]:
    n_img, n_txt = sim.shape
    t_hits = 0
    for i in range(n_img):
        order = sorted(range(n_txt), key=lambda t: -sim[i, t])[:k]
        t_hits += any(text_image[t] == i for t in order)
    i_hits = 0
    for t in range(n_txt):
        order = sorted(range(n_img), key=lambda i: -sim[i, t])[:k]
        i_hits += text_image[t] in order
    return 100 * t_hits / n_img, 100 * i_hits / n_txt


@pytest.mark.parametrize("chunk", [1024, 5])  # one block, and rows/columns in several chunks
def test_recall_matches_brute_force(chunk, monkeypatch):
    import bench.metrics as m

    rng = np.random.default_rng(0)
    n_img, per = 12, 5
    text_image = np.repeat(np.arange(n_img), per)
    rng.shuffle(text_image)  # captions need not be grouped by image
    sim = rng.normal(size=(n_img, n_img * per))
    sim[text_image, np.arange(n_img * per)] += 0.7  # some signal
    original = m.retrieval_ranks
    monkeypatch.setattr(m, "retrieval_ranks", lambda s, t: original(s, t, chunk=chunk))
    got = compute_details("retrieval_recall", sim, text_image)
    for k in (1, 5, 10):
        want_t, want_i = _brute(sim, text_image, k)
        assert got[f"text_retrieval_R@{k}"] == pytest.approx(want_t, abs=1e-9)
        assert got[f"image_retrieval_R@{k}"] == pytest.approx(want_i, abs=1e-9)
        if k == 1:
            assert 0 < want_t < 100 and 0 < want_i < 100  # the case is not trivial
    want_t1, want_i1 = _brute(sim, text_image, 1)
    assert score("retrieval_recall", sim, text_image).value == pytest.approx(
        (want_t1 + want_i1) / 2
    )


def test_recall_refuses_mismatched_shapes_and_a_nan_is_never_a_hit():
    with pytest.raises(BenchError, match="n_texts"):
        compute_details("retrieval_recall", np.zeros((2, 4)), np.array([0, 1, 1]))
    sim = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])  # image 0: text 0; image 1: texts 1, 2
    owner = np.array([0, 1, 1])
    assert compute_details("retrieval_recall", sim, owner)["text_retrieval_R@1"] == 100
    sim[0, 0] = np.nan  # image 0's own caption: now never its hit; nor is text 0's image
    got = compute_details("retrieval_recall", sim, owner)
    assert got["text_retrieval_R@1"] == 50 and got["image_retrieval_R@1"] == pytest.approx(200 / 3)
    sim[1, 0] = np.nan  # a wrong pair that is NaN ranks first: image 1 misses at k=1
    assert compute_details("retrieval_recall", sim, owner)["text_retrieval_R@1"] == 0


def test_bootstrap_statistic_on_all_images_is_the_value():
    from bench.metrics import get_metric

    rng = np.random.default_rng(1)
    text_image = np.repeat(np.arange(8), 5)
    sim = rng.normal(size=(8, 40))
    n, stat = get_metric("retrieval_recall").statistic(sim, text_image, {})
    assert n == 8
    assert stat(np.arange(8)) == pytest.approx(score("retrieval_recall", sim, text_image).value)
