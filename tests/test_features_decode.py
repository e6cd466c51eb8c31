"""``--decode gpu``: encoded files decoded and preprocessed as tensors on the run's device (here
the CPU), against OpenAI's PIL path on digits saved as JPEG: features, probe accuracy, the
cache key, corrupt files; and the loader's defaults (workers, staging)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from eval_fixtures import _one_thread, tiny_eval_model  # noqa: F401
from PIL import Image
from sklearn.datasets import load_digits

from bench.datasets._common import file_dataset
from bench.datasets._splits import IndexView
from bench.errors import BenchError, CorruptImageError
from bench.features import extract, make_loader
from bench.models.decode import JPEG_MAGIC
from bench.settings import Settings, default_workers
from bench.suites import run_suite
from bench.tasks import add_task_dirs, get_task

TRAIN, TEST = 500, 300


def _digits_jpeg(root: Path) -> None:
    """scikit-learn's digits upscaled to 64 px and saved as JPEG in an imagefolder task."""
    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))[: TRAIN + TEST]
    for j, i in enumerate(order):
        split = "test" if j < TEST else "train"
        path = root / "data" / "digits_jpeg" / split / str(d.target[i]) / f"{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray((d.images[i] * 255 / 16).astype(np.uint8))
        img.resize((64, 64), Image.BICUBIC).convert("RGB").save(path, quality=90)
    (root / "tasks").mkdir()
    (root / "tasks" / "digits_jpeg.yaml").write_text(
        "name: digits_jpeg\ntitle: digits as JPEG\nversion: 1\nmetric: accuracy\n"
        f"classes: [{', '.join(repr(str(c)) for c in range(10))}]\n"
        "templates: ['a photo of the number {}.']\n"
        f"splits: {{train: {TRAIN}, test: {TEST}}}\nval: {{official: false, size: 100, seed: 0}}\n"
        "source: {loader: imagefolder, options: {}}\ncitation: none\nlicence: CC0\n"
    )


@pytest.fixture
def digits_jpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _digits_jpeg(tmp_path)
    monkeypatch.setenv("BENCH_DATA", str(tmp_path / "data"))
    add_task_dirs([tmp_path / "tasks"])
    return get_task("digits_jpeg")


def _settings(decode: str, **kw) -> Settings:
    return Settings.build(
        device="cpu", workers=0, batch_size=64, progress=False, decode=decode, **kw
    )


def test_tensor_path_features_and_probe_accuracy_agree_with_openai(digits_jpeg, tmp_path):
    task = digits_jpeg
    pil = extract(tiny_eval_model(), task, "test", _settings("cpu"))
    ten = extract(tiny_eval_model(), task, "test", _settings("gpu"))
    assert pil.key != ten.key  # its own cache entry
    assert torch.equal(pil.labels, ten.labels)
    for kind in ("embedding", "probe"):
        a, b = getattr(pil, kind), getattr(ten, kind)
        rel = (a - b).norm(dim=1) / a.norm(dim=1)
        # measured (tiny-vit, 1,797 digits at 64 px): mean 0.05%, max 0.09%
        assert 0 < rel.mean() < 0.005 and rel.max() < 0.01, kind
    values = {}
    for decode in ("cpu", "gpu"):
        out = tmp_path / f"res-{decode}"
        summary = run_suite(tiny_eval_model(), "linear-probe", [task.name], out,
                            settings=_settings(decode))  # fmt: skip
        assert not summary.failed
        values[decode] = json.loads(next(out.rglob("linear-probe.json")).read_text())["value"]
    # measured on 1,797 images: 85.8 (PIL, C=1e4) vs 87.1 (tensor path, C=1e3)
    assert values["cpu"] > 50 and abs(values["cpu"] - values["gpu"]) < 4


def test_the_workers_read_the_encoded_jpeg_files(digits_jpeg):
    ds = digits_jpeg.dataset("train")  # a view: train without the carved val
    assert isinstance(ds, IndexView)
    assert ds.encoded(0)[:3] == JPEG_MAGIC
    batch = next(iter(make_loader(ds, None, batch_size=4, workers=0, device=torch.device("cpu"),
                                  encoded=True)))  # fmt: skip
    assert [p[:3] for p in batch["payloads"]] == [JPEG_MAGIC] * 4
    assert batch["labels"].tolist() == [ds.labels[i] for i in range(4)]


def test_an_item_that_is_not_a_plain_file_is_handed_over_decoded(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (10, 6), (1, 2, 3)).save(path)
    plain, cropped = file_dataset([path], [0]), file_dataset([path], [0], transform=lambda im: im)
    assert plain.encoded(0) == path.read_bytes()
    assert cropped.encoded(0) is None  # the loader's own transform must not be bypassed
    assert plain.subset([0]).encoded(0) == path.read_bytes()
    batch = next(iter(make_loader(cropped, None, batch_size=1, workers=0,
                                  device=torch.device("cpu"), encoded=True)))  # fmt: skip
    assert batch["payloads"][0].shape == (3, 6, 10) and batch["payloads"][0].dtype == torch.uint8


def test_a_corrupt_jpeg_is_named_or_skipped_and_counted(digits_jpeg):
    broken = sorted(Path(digits_jpeg.data_root()).rglob("test/3/*.jpg"))[0]
    broken.write_bytes(JPEG_MAGIC + b"\x00" * 64)
    with pytest.raises(CorruptImageError, match=broken.name):
        extract(tiny_eval_model(), digits_jpeg, "test", _settings("gpu", allow_partial=True))
    fs = extract(tiny_eval_model(), digits_jpeg, "test", _settings("gpu", skip_corrupt=True))
    assert fs.skipped == 1 and fs.skipped_files == [str(broken)] and len(fs) == TEST - 1


def test_a_model_preprocessed_otherwise_is_refused(digits_jpeg):
    from eval_fixtures import tiny_model

    from bench.models import ClipModel

    other = ClipModel(tiny_model(), "other", preprocess=lambda im: im, preprocess_id="mine-v1")
    with pytest.raises(BenchError, match="OpenAI's preprocessing only.*--decode cpu"):
        extract(other, digits_jpeg, "test", _settings("gpu"))


def test_workers_default_to_the_machine_and_do_not_warn(monkeypatch):
    assert Settings.build(device="cpu").workers == default_workers()
    from bench.cli import build_parser

    args = build_parser().parse_args(["run", "--model", "m", "--suite", "zero-shot"])
    assert args.workers is None and args.decode == "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # DataLoader warns when workers exceed the cores
        loader = make_loader(list(range(4)), None, batch_size=2, workers=default_workers(),
                             device=torch.device("cpu"))  # fmt: skip
        loader.check_worker_number_rationality()
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "64")  # torchrun ranks share the machine's cores
    assert default_workers() == 0


@pytest.mark.gpu
def test_on_cuda_the_staged_copies_and_nvjpeg_give_the_cpu_features(digits_jpeg):
    for decode in ("cpu", "gpu"):
        cpu = extract(tiny_eval_model(), digits_jpeg, "test", _settings(decode))
        cuda = extract(tiny_eval_model(), digits_jpeg, "test",
                       _settings(decode).replace(device=torch.device("cuda")))  # fmt: skip
        assert torch.equal(cpu.labels, cuda.labels)
        rel = (cpu.probe - cuda.probe).norm(dim=1) / cpu.probe.norm(dim=1)
        assert rel.max() < 0.01, decode
