"""End to end: `bench run --suite robustness` on miniature ImageNet, ImageNet-R, ObjectNet and
ImageNetV2 folders (the real on-disk layouts) with a tiny random CLIP, through bench.cli.main.

Nothing in the suite is stubbed: the ImageNet zero-shot head is built by the tiny text tower and
the ImageNet probe ("adapt to ImageNet") is fitted by L-BFGS on the miniature's features. The
zero-shot accuracies are checked against an independent recomputation from freshly encoded
images. Two things are shrunk so that it runs in seconds: ImageNet's carved val split (10,000 ->
1,000 images, one per class) and, by default, its 80 templates (the full 80 run under --run-slow).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from _datasets_fixtures import BUILDERS, save_image
from eval_fixtures import _one_thread, run_cli, save_tiny, tiny_model  # noqa: F401
from PIL import Image

from bench import tasks as tasks_module
from bench.datasets._imagenet import imagenet_wnids
from bench.io import sha256_file
from bench.models import image_transform
from bench.models.seam import ClipModel
from bench.protocols.zero_shot import build_classifier
from bench.results import load_results

SHIFTS = ("imagenet_r", "objectnet", "imagenetv2")
TASKS = ("imagenet", *SHIFTS)


def _build_imagenet(root: Path) -> None:
    """The builder's miniature ImageNet plus one train and one val image of every class: the
    probe is fitted on all 1000 classes, and every shift has val images of its classes."""
    BUILDERS["imagenet"](root)
    for k, wnid in enumerate(imagenet_wnids()):
        for i in range(2):
            save_image(root / "train" / wnid / f"t{k}_{i}.JPEG", 3 * k + i, (4, 4))
        save_image(root / "val" / wnid / f"v{k}.JPEG", 3 * k + 2, (4, 4))


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    _build_imagenet(root / "imagenet")
    for name in SHIFTS:
        BUILDERS[name](root / name)
    return root


def _shrink_imagenet(monkeypatch: pytest.MonkeyPatch, n_templates: int) -> None:
    """ImageNet as its task file says, but with a 1,000-image carved val split (the miniature
    has ~2,000 train images, not the 10,000 the real carve takes) and the first templates."""
    real = tasks_module.get_task

    def get(name, *args, **kwargs):
        task = real(name, *args, **kwargs)
        if task.name != "imagenet":
            return task
        val = dataclasses.replace(task.val, size=1000)
        return dataclasses.replace(task, val=val, templates=task.templates[:n_templates])

    monkeypatch.setattr(tasks_module, "get_task", get)


def _independent_top1(model, sha: str, task, root: Path) -> tuple[float, int]:
    """Top-1 (percent) of the ImageNet zero-shot classifier, max-pooled into the task's classes
    (none for ImageNet and ImageNetV2), on freshly encoded test images."""
    ds = task.dataset("test", root=root)
    preprocess = image_transform(model.image_resolution)
    images = torch.stack([preprocess(ds[i][0]) for i in range(len(ds))])
    with torch.no_grad():
        feats = model.encode_image(images).float()
    feats = feats / feats.norm(dim=-1, keepdim=True)
    weights = _classifier(model, sha)
    scores = (100 * feats @ weights).numpy()
    if task.imagenet_pool is not None:
        scores = np.stack([scores[:, list(p)].max(1) for p in task.imagenet_pool], axis=1)
    labels = np.asarray(ds.labels)
    return float(np.mean(scores.argmax(1) == labels) * 100), len(labels)


def _classifier(model, sha: str) -> torch.Tensor:
    """The ImageNet zero-shot classifier, cached under the checkpoint's sha256 (as the run's)."""
    imagenet = tasks_module.get_task("imagenet")
    seam = ClipModel(model, "tiny", "bench", weights_sha256=sha)
    return build_classifier(seam, imagenet.class_prompts, imagenet.templates)


def _add_right_and_wrong(model, sha: str, task, root: Path, stage: Path, folder: str) -> None:
    """Adds two test images to a wnid-folder task: one in the folder of the class the tiny model
    predicts for it, one elsewhere, so the zero-shot accuracy is neither 0 nor 100 by chance."""
    weights = _classifier(model, sha)
    pool = task.imagenet_pool or tuple((k,) for k in range(1000))
    preprocess = image_transform(model.image_resolution)
    wnids = imagenet_wnids()
    for i, offset in enumerate((0, 1)):
        path = save_image(stage / f"{task.name}_{i}.JPEG", 500 + 17 * i, (40, 40))
        with Image.open(path) as image:
            x = preprocess(image.convert("RGB"))[None]
        with torch.no_grad():
            scores = model.encode_image(x).float() @ weights
        pred = int(torch.stack([scores[0, list(p)].max() for p in pool]).argmax())
        target = pool[(pred + offset) % len(pool)][0]
        dest = root / task.name / folder / wnids[target] / path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        path.rename(dest)


def _run(monkeypatch, tmp_path: Path, data_root: Path, n_templates: int) -> None:
    _shrink_imagenet(monkeypatch, n_templates)
    ckpt = save_tiny(tmp_path / "tiny.pt")
    model, sha = tiny_model(), sha256_file(ckpt)
    for name, folder in (("imagenet", "val"), ("imagenet_r", "imagenet-r")):
        task = tasks_module.get_task(name)
        _add_right_and_wrong(model, sha, task, data_root, tmp_path / "stage", folder)
    out = tmp_path / "results"
    code, _, err = run_cli(
        "run", "--model", str(ckpt), "--suite", "robustness", "--tasks", ",".join(TASKS),
        "--out", str(out), "--data-root", str(data_root), "--device", "cpu",
        "--workers", "0", "--batch-size", "8", "--quiet", "--allow-partial",
    )  # fmt: skip
    assert code == 0, err
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.json"))
    assert files == sorted(
        f"tiny/{t}/{s}.json" for t in TASKS for s in ("robustness", "robustness-adapt")
    )
    loaded = load_results(out)
    assert not loaded.problems, loaded.problems
    results = {(r.task, r.suite): r for _, r in loaded.results}
    assert len(results) == 2 * len(TASKS)
    for name in TASKS:
        task = tasks_module.get_task(name)
        expected, n = _independent_top1(model, sha, task, data_root)
        zs, adapt = results[(name, "robustness")], results[(name, "robustness-adapt")]
        assert zs.value == pytest.approx(expected, abs=1e-6), name
        if name in ("imagenet", "imagenet_r"):
            assert 0 < zs.value < 100, name  # one right image by construction, one wrong
        assert zs.top1 == pytest.approx(expected, abs=1e-6) and zs.top5 >= zs.top1
        for r in (zs, adapt):
            assert r.split_sizes == {"test": n} and r.metric == task.metric
            assert 0.0 <= r.metrics["imagenet_subsampled"] <= 100.0
            assert r.device == "cpu" and r.model_slug == "tiny"
            assert r.partial and r.n_found["test"] == n  # a miniature, marked as such
    # ImageNet's own shift-free accuracy is its class-subsampled accuracy
    for suite in ("robustness", "robustness-adapt"):
        r = results[("imagenet", suite)]
        assert r.metrics["imagenet_subsampled"] == pytest.approx(r.value)


def test_robustness_suite_end_to_end(monkeypatch, tmp_path: Path, data_root: Path):
    _run(monkeypatch, tmp_path, data_root, n_templates=2)


@pytest.mark.slow
def test_robustness_suite_end_to_end_all_80_templates(monkeypatch, tmp_path, data_root):
    _run(monkeypatch, tmp_path, data_root, n_templates=80)


def test_too_small_imagenet_train_is_a_data_error_not_a_traceback(tmp_path: Path):
    from bench.errors import DataMissingError

    BUILDERS["imagenet"](tmp_path / "imagenet")  # 3 train images; the val carve takes 10,000
    with pytest.raises(DataMissingError, match=r"'imagenet'.*10000-example val.*3 training"):
        tasks_module.get_task("imagenet").dataset("val", root=tmp_path)
