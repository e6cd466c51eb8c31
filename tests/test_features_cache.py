"""The feature cache cannot serve wrong features: digests, file fingerprints, refresh, NaN."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from eval_fixtures import _one_thread, tiny_eval_model  # noqa: F401
from PIL import Image

from bench import features
from bench.errors import IncompleteDataError
from bench.features import FeatureCache, encode, extract
from bench.finite import NonFiniteError
from bench.models.model import CLIP
from bench.settings import Settings
from bench.tasks import get_task

SETTINGS = Settings.build(device="cpu", batch_size=32, workers=0, progress=False)


@pytest.fixture(autouse=True)
def _fresh_stats():
    features.STATS.clear()


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01  # in the tensor data, past the header safetensors parses
    path.write_bytes(bytes(data))


def test_flipped_byte_in_a_cached_file_is_re_extracted_with_a_warning(capsys):
    model, digits = tiny_eval_model(), get_task("digits")
    good = extract(model, digits, "val", SETTINGS)
    _flip_last_byte(FeatureCache().final_path(good.key))
    capsys.readouterr()
    again = extract(model, digits, "val", SETTINGS)
    assert "do not match their stored digest" in capsys.readouterr().err
    assert features.STATS["cache_misses"] == 2 and features.STATS["corrupt_cache_files"] == 1
    assert torch.equal(again.probe, good.probe) and torch.equal(again.embedding, good.embedding)
    # the rewritten file is trusted again
    extract(model, digits, "val", SETTINGS)
    assert features.STATS["cache_hits"] == 1


def test_flipped_byte_in_a_partial_chunk_is_not_resumed(monkeypatch, capsys):
    model, digits = tiny_eval_model(), get_task("digits")
    reference = extract(model, digits, "val", SETTINGS.replace(refresh_features=True))
    FeatureCache().final_path(reference.key).unlink()
    monkeypatch.setattr(encode, "DEFAULT_CHUNK_BATCHES", 1)
    real, calls = CLIP.image_features, {"n": 0}

    def dying(self, images):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return real(self, images)

    monkeypatch.setattr(CLIP, "image_features", dying)
    with pytest.raises(KeyboardInterrupt):
        extract(model, digits, "val", SETTINGS)
    monkeypatch.setattr(CLIP, "image_features", real)
    chunks = sorted(FeatureCache().partial_dir(reference.key).glob("chunk-*"))
    assert len(chunks) == 2
    _flip_last_byte(chunks[0])
    features.STATS.clear()
    resumed = extract(model, digits, "val", SETTINGS)
    assert "do not match their stored digest" in capsys.readouterr().err
    # chunk 1 is bad and re-extracted; the verified chunk 2 is reused (gaps are filled since
    # distributed runs write chunks out of order)
    assert features.STATS["resumed_images"] == SETTINGS.batch_size
    assert torch.equal(resumed.probe, reference.probe)


def test_force_and_refresh_features_re_extract():
    model, digits = tiny_eval_model(), get_task("digits")
    extract(model, digits, "val", SETTINGS)
    extract(model, digits, "val", SETTINGS.replace(force=True))
    extract(model, digits, "val", SETTINGS.replace(refresh_features=True))
    assert features.STATS["cache_misses"] == 3 and features.STATS["cache_hits"] == 0


@pytest.fixture
def eurosat_root(tmp_path: Path) -> Path:
    """A EuroSAT-format folder, one class of 1,003 images (1,000 train, 3 test)."""
    folder = tmp_path / "data" / "eurosat" / "2750" / "River"
    folder.mkdir(parents=True)
    for i in range(1003):
        Image.new("RGB", (4, 4), (i % 256, 3 * i % 256, 0)).save(folder / f"River_{i + 1}.jpg")
    return tmp_path / "data"


def test_incomplete_split_is_an_error_unless_allow_partial(eurosat_root: Path):
    model, eurosat = tiny_eval_model(), get_task("eurosat")
    settings = SETTINGS.replace(data_root=eurosat_root)
    with pytest.raises(IncompleteDataError, match="found 3 items, the task file expects 5000"):
        extract(model, eurosat, "test", settings)
    fs = extract(model, eurosat, "test", settings.replace(allow_partial=True))
    assert (fs.partial, fs.n_found, fs.n_expected, len(fs)) == (True, 3, 5000, 3)


def test_a_changed_dataset_file_is_re_extracted(eurosat_root: Path):
    model, eurosat = tiny_eval_model(), get_task("eurosat")
    settings = SETTINGS.replace(data_root=eurosat_root, allow_partial=True)
    first = extract(model, eurosat, "test", settings)
    assert extract(model, eurosat, "test", settings).key == first.key
    assert features.STATS["cache_hits"] == 1
    # touching a file (a repaired or replaced image) changes the key: extracted again
    path = Path(eurosat.dataset("test", root=eurosat_root).paths[0])
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    touched = extract(model, eurosat, "test", settings)
    assert touched.key != first.key and features.STATS["cache_misses"] == 2
    # a replaced image gives its own features, never the old ones
    Image.new("RGB", (4, 4), (255, 255, 255)).save(path)
    replaced = extract(model, eurosat, "test", settings)
    assert features.STATS["cache_misses"] == 3
    assert not torch.equal(replaced.embedding[0], first.embedding[0])
    assert torch.equal(replaced.embedding[1:], first.embedding[1:])


def test_nan_weights_fail_with_model_task_split_and_count():
    model, digits = tiny_eval_model(), get_task("digits")
    with torch.no_grad():
        model.module.visual.proj[0, 0] = float("nan")  # the embedding's first column only
    with pytest.raises(NonFiniteError) as info:
        extract(model, digits, "val", SETTINGS)
    msg = str(info.value)
    assert "'tiny-0'" in msg and "'digits'" in msg and "'val'" in msg
    assert f"120 of {120 * 64} image embedding values" in msg
