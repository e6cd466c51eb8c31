"""The retrieval suite end to end on Karpathy-format fixtures: recall through `bench run` equals
an independent computation from the model's own encoders (issue 12, point 1)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from eval_fixtures import _one_thread, run_cli, run_json, save_tiny  # noqa: F401
from PIL import Image

from bench import features
from bench.results import read_result

N_IMAGES, PER_IMAGE = 12, 5
WORDS = ("red", "green", "blue", "square", "circle", "dog", "cat", "tree", "car", "boat")


def _caption(i: int, j: int) -> str:
    return f"A {WORDS[i % 10]} {WORDS[(i + j) % 10]} picture number {i} {j}"


def write_karpathy(root: Path, variant: str) -> list[Path]:
    """Karpathy's split file and images in their on-disk layout; returns the test images."""
    rng = np.random.default_rng(1)
    entries, paths = [], []
    for i in range(N_IMAGES + 3):  # 3 extra images of other splits
        split = "test" if i < N_IMAGES else ("train", "val", "restval")[i - N_IMAGES]
        folder = "flickr30k-images" if variant == "flickr30k" else "val2014"
        name = f"{i:06d}.jpg" if variant == "flickr30k" else f"COCO_val2014_{i:012d}.jpg"
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, quality=95)
        n_caps = PER_IMAGE + (2 if i == 3 and variant == "coco" else 0)  # COCO: some have 7
        sentences = [{"raw": " " + _caption(i, j) + " ", "tokens": []} for j in range(n_caps)]
        entry = {"filename": name, "split": split, "sentences": sentences, "imgid": i}
        if variant == "coco":
            entry["filepath"] = "val2014"
        entries.append(entry)
        if split == "test":
            paths.append(path)
    filename = "dataset_flickr30k.json" if variant == "flickr30k" else "dataset_coco.json"
    (root / filename).write_text(json.dumps({"images": entries, "dataset": variant}))
    return paths


def independent_recall(ckpt: Path, images: list[Path], prefix: str) -> dict[str, float]:
    """Recall at 1, 5, 10 both ways from the checkpoint's own encoders, counted by hand."""
    from bench.models import image_transform, load_checkpoint, tokenize

    model = load_checkpoint(ckpt).eval()
    transform = image_transform(model.image_resolution)
    with torch.no_grad():
        x = torch.stack([transform(Image.open(p).convert("RGB")) for p in images])
        img = model.encode_image(x).double()
        texts = [prefix + _caption(i, j) for i in range(len(images)) for j in range(PER_IMAGE)]
        txt = model.encode_text(tokenize(texts, model.context_length, truncate=True)).double()
    img = img / img.norm(dim=1, keepdim=True)
    txt = txt / txt.norm(dim=1, keepdim=True)
    sim = (img @ txt.T).numpy()
    owner = [t // PER_IMAGE for t in range(len(texts))]
    out = {}
    for k in (1, 5, 10):
        t_hits = sum(
            any(owner[t] == i for t in sorted(range(len(texts)), key=lambda t: -sim[i, t])[:k])
            for i in range(len(images))
        )
        i_hits = sum(
            owner[t] in sorted(range(len(images)), key=lambda i: -sim[i, t])[:k]
            for t in range(len(texts))
        )
        out[f"text_retrieval_R@{k}"] = 100 * t_hits / len(images)
        out[f"image_retrieval_R@{k}"] = 100 * i_hits / len(texts)
    return out


def _run(ckpt: Path, data: Path, out: Path, task: str, *extra: str) -> dict:
    return run_json(
        "run", "--model", str(ckpt), "--suite", "retrieval", "--tasks", task, "--out", str(out),
        "--data-root", str(data), "--workers", "0", "--quiet", "--allow-partial", *extra,
    )  # fmt: skip


@pytest.mark.parametrize(("task", "variant"), [("flickr30k", "flickr30k"), ("mscoco", "coco")])
def test_recall_through_bench_run_equals_independent_count(tmp_path: Path, task, variant):
    ckpt = save_tiny(tmp_path / "tiny.pt")
    images = write_karpathy(tmp_path / "data" / task, variant)
    _run(ckpt, tmp_path / "data", tmp_path / "out", task)
    r = read_result(tmp_path / "out" / "tiny" / task / "retrieval.json")
    want = independent_recall(ckpt, images, "a photo of ")
    for name, value in want.items():
        assert r.metrics[name] == pytest.approx(value, abs=1e-6), name
    assert r.value == pytest.approx(
        (want["text_retrieval_R@1"] + want["image_retrieval_R@1"]) / 2, abs=1e-6
    )
    assert r.split_sizes == {"test": N_IMAGES, "test_captions": N_IMAGES * PER_IMAGE}
    assert r.prompts["caption_prefix"] == "a photo of " and r.partial  # 12 of 1,000 images
    assert r.metric == "retrieval_recall" and r.n == N_IMAGES
    assert r.ci["method"] == "bootstrap" and r.ci["low"] <= r.value <= r.ci["high"]
    assert 0 < want["text_retrieval_R@10"] < 100  # the case is not trivial


def test_caption_prefix_has_its_own_file_and_cached_text_features(tmp_path: Path):
    ckpt = save_tiny(tmp_path / "tiny.pt")
    images = write_karpathy(tmp_path / "data" / "flickr30k", "flickr30k")
    out = tmp_path / "out"
    features.STATS.clear()
    _run(ckpt, tmp_path / "data", out, "flickr30k")
    _run(ckpt, tmp_path / "data", out, "flickr30k", "--caption-prefix", "")
    folder = out / "tiny" / "flickr30k"
    assert sorted(p.name for p in folder.iterdir()) == [
        "retrieval-prefix-none.json", "retrieval.json",
    ]  # fmt: skip
    bare = read_result(folder / "retrieval-prefix-none.json")
    assert bare.prompts["caption_prefix"] == "" and bare.variant == "prefix-none"
    want = independent_recall(ckpt, images, "")
    assert bare.metrics["image_retrieval_R@5"] == pytest.approx(want["image_retrieval_R@5"])
    assert features.STATS["text_cache_misses"] == 2  # two prefixes: two sets of texts
    _run(ckpt, tmp_path / "data", tmp_path / "out2", "flickr30k")  # another results folder
    assert (features.STATS["text_cache_hits"], features.STATS["text_cache_misses"]) == (1, 2)
    again = read_result(tmp_path / "out2" / "tiny" / "flickr30k" / "retrieval.json")
    assert again.metrics == read_result(folder / "retrieval.json").metrics


def test_suite_refuses_classification_task_and_zero_shot_refuses_retrieval(tmp_path: Path):
    ckpt = save_tiny(tmp_path / "tiny.pt")
    code, _, err = run_cli("run", "--model", str(ckpt), "--suite", "retrieval", "--tasks",
                           "digits", "--out", str(tmp_path / "o"))  # fmt: skip
    assert code == 2 and "needs a retrieval task" in err
    code, _, err = run_cli("run", "--model", str(ckpt), "--suite", "zero-shot", "--tasks",
                           "flickr30k", "--out", str(tmp_path / "o"))  # fmt: skip
    assert code == 2 and "classification task" in err
