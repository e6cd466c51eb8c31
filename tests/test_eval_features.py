"""The feature cache: keys, atomic final files, resumable chunks, other weights, corrupt images."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from eval_fixtures import _one_thread, error_lines, run_cli, save_tiny, tiny_eval_model  # noqa: F401

from bench import features
from bench.errors import CorruptImageError
from bench.features import FeatureCache, encode, extract, feature_key, files_fingerprint
from bench.models import ClipModel
from bench.models.model import CLIP
from bench.settings import Settings
from bench.tasks import get_task
from bench.tasks.task import Task

SETTINGS = Settings.build(device="cpu", batch_size=32, workers=0, progress=False)
FRESH = SETTINGS.replace(refresh_features=True)


@pytest.fixture(autouse=True)
def _fresh_stats():
    features.STATS.clear()


@pytest.fixture
def digits() -> Task:
    return get_task("digits")


def _key(task, **over):
    args = dict(
        weights_sha256="a" * 64,
        task=task,
        split="test",
        fold=None,
        preprocess="p",
        precision="fp32",
    )
    args.update(over)
    return feature_key(**args)


def test_key_holds_everything_that_changes_features(digits: Task):
    base, spec = _key(digits)
    assert spec["weights_sha256"] == "a" * 64 and spec["task_config_hash"] == digits.config_hash
    assert spec["format"] == features.FEATURE_FORMAT_VERSION
    variants = [
        _key(digits, weights_sha256="b" * 64),
        _key(digits, split="train"),
        _key(digits, fold=0),
        _key(digits, preprocess="q"),
        _key(digits, precision="bf16"),
        _key(Task(**{**vars(digits), "version": digits.version + 1})),
        _key(Task(**{**vars(digits), "config_hash": "0" * 64})),
        _key(digits, files="f" * 64),
        _key(digits, probe_kind="attention-pool"),
    ]
    keys = [base] + [k for k, _ in variants]
    assert len(set(keys)) == len(keys)


def test_extract_caches_and_reuses(digits: Task):
    model = tiny_eval_model()
    first = extract(model, digits, "val", SETTINGS)
    assert features.STATS["cache_misses"] == 1 and first.embedding.shape == (120, 64)
    assert first.probe.shape == (120, model.probe_dim) and first.probe.dtype == torch.float32
    assert first.embedding.dtype == torch.float32 and first.labels.dtype == torch.int64
    assert (first.n_found, first.n_expected, first.partial) == (120, 120, False)
    assert torch.equal(first.labels, torch.as_tensor(digits.dataset("val").labels))
    second = extract(model, digits, "val", SETTINGS)
    assert features.STATS["cache_hits"] == 1 and features.STATS["cache_misses"] == 1
    assert torch.equal(first.embedding, second.embedding)
    assert torch.equal(first.probe, second.probe)
    # the cached file holds exactly what a fresh extraction gives
    fresh = extract(model, digits, "val", FRESH)
    assert features.STATS["cache_misses"] == 2
    assert torch.equal(fresh.embedding, first.embedding) and torch.equal(fresh.probe, first.probe)
    root = FeatureCache().root
    assert sorted(p.suffix for p in root.iterdir()) == [".json", ".safetensors"]


def test_other_weights_are_never_reused(digits: Task, tmp_path: Path):
    a, b = tiny_eval_model(0), tiny_eval_model(1)
    fa = extract(a, digits, "val", SETTINGS)
    fb = extract(b, digits, "val", SETTINGS)
    assert features.STATS["cache_misses"] == 2 and features.STATS["cache_hits"] == 0
    assert not torch.allclose(fa.embedding, fb.embedding)
    # a file of model a put under model b's key (renamed, copied back) is rejected by the
    # key stored inside it, and b's features are extracted again
    store = FeatureCache()
    key_b = fb.key
    shutil.copy(store.final_path(fa.key), store.final_path(key_b))
    features.STATS.clear()
    again = extract(b, digits, "val", SETTINGS)
    assert features.STATS["rejected_cache_files"] == 1 and features.STATS["cache_misses"] == 1
    assert torch.equal(again.embedding, fb.embedding)


def test_checkpoint_files_with_other_weights_get_other_keys(tmp_path: Path, digits: Task):
    from bench.models import load_checkpoint

    m0 = ClipModel(load_checkpoint(save_tiny(tmp_path / "a.pt", seed=0)), "a")
    m1 = ClipModel(load_checkpoint(save_tiny(tmp_path / "b.pt", seed=1)), "b")
    assert m0.weights_sha256 != m1.weights_sha256
    k0 = extract(m0, digits, "val", SETTINGS).key
    k1 = extract(m1, digits, "val", SETTINGS).key
    assert k0 != k1 and features.STATS["cache_misses"] == 2


def test_truncated_final_file_is_not_trusted(digits: Task):
    model = tiny_eval_model()
    good = extract(model, digits, "val", SETTINGS)
    path = FeatureCache().final_path(good.key)
    path.write_bytes(path.read_bytes()[:100])
    features.STATS.clear()
    again = extract(model, digits, "val", SETTINGS)
    assert features.STATS["cache_misses"] == 1 and torch.equal(again.embedding, good.embedding)


class _Killed(RuntimeError):
    pass


def test_killed_extraction_resumes_with_identical_features(
    digits: Task, monkeypatch: pytest.MonkeyPatch
):
    model = tiny_eval_model()
    reference = extract(model, digits, "test", FRESH)  # 597 images, 19 batches
    features.FeatureCache().final_path(reference.key).unlink()
    monkeypatch.setattr(encode, "DEFAULT_CHUNK_BATCHES", 3)
    real = CLIP.image_features
    calls = {"n": 0}

    def dying(self, images):
        calls["n"] += 1
        if calls["n"] > 7:  # killed during the 8th batch: chunks of batches 1-3 and 4-6 saved
            raise _Killed("simulated kill")
        return real(self, images)

    monkeypatch.setattr(CLIP, "image_features", dying)
    with pytest.raises(_Killed):
        extract(model, digits, "test", SETTINGS)
    store = FeatureCache()
    key = feature_key(
        weights_sha256=model.weights_sha256,
        task=digits,
        split="test",
        fold=None,
        preprocess=model.preprocess_id,
        precision="fp32",
        files=files_fingerprint(digits.dataset("test")),
        probe_kind=model.probe_kind,
    )[0]
    assert not store.final_path(key).exists()  # never a partial final file
    assert len(list(store.partial_dir(key).glob("chunk-*.safetensors"))) == 2

    monkeypatch.setattr(CLIP, "image_features", real)
    features.STATS.clear()
    resumed = extract(model, digits, "test", SETTINGS)
    assert features.STATS["resumed_images"] == 6 * 32
    assert features.STATS["extracted_images"] == 597 - 6 * 32
    assert torch.equal(resumed.embedding, reference.embedding)
    assert torch.equal(resumed.labels, reference.labels)
    assert store.final_path(key).exists() and not store.partial_dir(key).exists()


def test_killed_cli_run_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The same through `bench run`: a killed run leaves no result, the rerun resumes."""
    from bench.models.model import CLIP

    ckpt = save_tiny(tmp_path / "tiny.pt")
    out = tmp_path / "results"
    args = ["run", "--model", str(ckpt), "--tasks", "digits", "--suite", "zero-shot",
            "--out", str(out), "--workers", "0", "--batch-size", "32", "--quiet"]  # fmt: skip
    monkeypatch.setattr(encode, "DEFAULT_CHUNK_BATCHES", 2)
    real = CLIP.image_features
    calls = {"n": 0}

    def dying(self, images):
        calls["n"] += 1
        if calls["n"] > 5:
            raise _Killed("simulated kill")
        return real(self, images)

    monkeypatch.setattr(CLIP, "image_features", dying)
    with pytest.raises(_Killed):
        run_cli(*args)
    assert not (out / "tiny" / "digits" / "zero-shot.json").exists()
    monkeypatch.setattr(CLIP, "image_features", real)
    features.STATS.clear()
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert features.STATS["resumed_images"] == 4 * 32
    # the resumed features equal a clean extraction's
    model = tiny_eval_model()
    clean = extract(model, get_task("digits"), "test", FRESH)
    cached = extract(model, get_task("digits"), "test", SETTINGS)
    assert torch.equal(clean.embedding, cached.embedding)


class _CorruptAt:
    """Wraps a dataset so that some indices raise CorruptImageError like a real loader."""

    def __init__(self, inner, bad: set[int]):
        self.inner, self.bad, self.labels = inner, bad, inner.labels

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        if i in self.bad:
            raise CorruptImageError(f"/data/digits/img{i}.png", "truncated file")
        return self.inner[i]


@pytest.fixture
def corrupt_digits(monkeypatch: pytest.MonkeyPatch):
    real = Task.dataset

    def dataset(self, split, root=None, fold=None):
        ds = real(self, split, root, fold)
        return _CorruptAt(ds, {3, 40}) if split == "test" else ds

    monkeypatch.setattr(Task, "dataset", dataset)


@pytest.mark.parametrize("workers", [0, 1])
def test_corrupt_image_is_one_line_naming_the_file(tmp_path, corrupt_digits, workers):
    ckpt = save_tiny(tmp_path / "tiny.pt")
    code, out, err = run_cli(
        "run", "--model", str(ckpt), "--tasks", "digits", "--suite", "zero-shot",
        "--out", str(tmp_path / "r"), "--workers", str(workers), "--quiet",
    )  # fmt: skip
    assert code == 2
    lines = error_lines(err)
    assert len(lines) == 1 and "/data/digits/img3.png" in lines[0]
    assert "truncated file" in lines[0] and "--skip-corrupt" in lines[0]


def test_skip_corrupt_skips_and_counts(tmp_path, corrupt_digits):
    from bench.results import read_result

    ckpt = save_tiny(tmp_path / "tiny.pt")
    out = tmp_path / "r"
    args = ["run", "--model", str(ckpt), "--tasks", "digits", "--suite", "zero-shot",
            "--out", str(out), "--workers", "0", "--quiet"]  # fmt: skip
    code, _, err = run_cli(*args, "--skip-corrupt")
    assert code == 0, err
    r = read_result(out / "tiny" / "digits" / "zero-shot.json")
    assert r.skipped_corrupt == 2 and r.split_sizes["test"] == 597 - 2
    # the cached features with skipped images are not used silently without --skip-corrupt
    code, _, err = run_cli(*args, "--force")
    assert code == 2 and "img3.png" in err


def test_resumed_chunks_with_skipped_images_need_skip_corrupt(
    digits: Task, corrupt_digits, monkeypatch: pytest.MonkeyPatch
):
    model = tiny_eval_model()
    monkeypatch.setattr(encode, "DEFAULT_CHUNK_BATCHES", 1)
    real = CLIP.image_features
    calls = {"n": 0}

    def dying(self, images):
        calls["n"] += 1
        if calls["n"] > 3:
            raise _Killed("simulated kill")
        return real(self, images)

    monkeypatch.setattr(CLIP, "image_features", dying)
    skip = SETTINGS.replace(skip_corrupt=True)
    with pytest.raises(_Killed):
        extract(model, digits, "test", skip)
    monkeypatch.setattr(CLIP, "image_features", real)
    with pytest.raises(CorruptImageError, match="img3.png"):
        extract(model, digits, "test", SETTINGS)
    fs = extract(model, digits, "test", skip)
    assert fs.skipped == 2 and len(fs) == 597 - 2
    assert features.STATS["resumed_images"] == 3 * 32
