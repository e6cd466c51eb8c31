"""Training data: CSV/TSV, WebDataset tar shards and Hugging Face datasets, corrupt samples,
the augmentation and the step sampler."""

from __future__ import annotations

import random

import pytest
import torch
from train_fixtures import _one_torch_thread, write_csv, write_hf, write_shard  # noqa: F401

from bench.errors import DataMissingError
from bench.train.config import load_config
from bench.train.data import (
    CorruptSample,
    DataError,
    PairDataset,
    StepSampler,
    TrainTransform,
    collate,
    expand_shards,
    open_pairs,
    random_resized_crop_params,
)


def _cfg(data, **kw):
    return load_config(None, {"data": str(data), **kw})


def _all_readable(source):
    out = []
    for i in range(len(source)):
        try:
            image, caption = source.read(i)
        except CorruptSample:
            continue
        assert image.mode == "RGB" and image.size == (20, 20)
        out.append(caption)
    return out


@pytest.mark.parametrize("sep", [",", "\t"])
def test_csv_and_tsv(tmp_path, sep):
    path, captions = write_csv(tmp_path, 6, sep=sep)
    source = open_pairs(_cfg(path))
    assert len(source) == 6
    assert _all_readable(source) == captions


def test_csv_custom_columns_and_missing_column(tmp_path):
    path, _ = write_csv(tmp_path, 3)
    with pytest.raises(DataError, match=r"no column 'title'.*\['filepath', 'caption'\]"):
        open_pairs(_cfg(path, caption_key="title"))


def test_tar_shards_brace_glob_and_folder(tmp_path):
    shards = tmp_path / "shards"
    caps = write_shard(shards / "00000.tar", 0, 5, incomplete=(3,))
    caps += write_shard(shards / "00001.tar", 5, 4)
    for spec in (shards, shards / "{00000..00001}.tar", shards / "*.tar"):
        source = open_pairs(_cfg(spec))
        assert len(source) == 8 and source.incomplete == 1
        assert _all_readable(source) == caps  # png, jpg and webp all decode
    assert expand_shards(str(shards / "{00000..00003}.tar")) == [
        shards / "00000.tar",
        shards / "00001.tar",
    ]


def test_gzipped_shard(tmp_path):
    import gzip
    import shutil

    write_shard(tmp_path / "s.tar", 0, 3)
    with open(tmp_path / "s.tar", "rb") as src, gzip.open(tmp_path / "s.tar.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    (tmp_path / "s.tar").unlink()
    source = open_pairs(_cfg(tmp_path / "s.tar.gz"))
    assert len(_all_readable(source)) == 3


def test_hf_dataset_saved_to_disk(tmp_path):
    path, captions = write_hf(tmp_path, 5)
    source = open_pairs(_cfg(path))
    assert _all_readable(source) == captions
    with pytest.raises(DataError, match=r"no column 'caption'.*'text'"):
        open_pairs(_cfg(path, hf_text_column="caption"))


def test_hf_dataset_dict_split(tmp_path):
    import datasets

    path, captions = write_hf(tmp_path, 4)
    dd = datasets.DatasetDict({"train": datasets.load_from_disk(str(path))})
    dd.save_to_disk(str(tmp_path / "dd"))
    assert _all_readable(open_pairs(_cfg(tmp_path / "dd"))) == captions
    with pytest.raises(DataError, match=r"no split 'validation'.*\['train'\]"):
        open_pairs(_cfg(tmp_path / "dd", hf_split="validation"))


@pytest.mark.parametrize("fmt", ["csv", "wds", "hf"])
def test_corrupt_sample_is_skipped_and_counted(tmp_path, fmt):
    if fmt == "csv":
        path, _ = write_csv(tmp_path, 6, corrupt=(2,))
    elif fmt == "wds":
        write_shard(tmp_path / "s.tar", 0, 6, corrupt=(2,))
        path = tmp_path / "s.tar"
    else:
        path, _ = write_hf(tmp_path, 6, corrupt=(2,))
    source = open_pairs(_cfg(path))
    with pytest.raises(CorruptSample, match="cannot decode"):
        source.read(2)
    dataset = PairDataset(source, TrainTransform(32), lambda t: torch.tensor([len(t)]), seed=0)
    image, tokens, skipped = dataset[(0, 2)]  # the next sample stands in for the corrupt one
    assert image.shape == (3, 32, 32)
    assert tokens.item() == len(source.read(3)[1])
    assert len(skipped) == 1 and "cannot decode" in skipped[0]
    batch = collate([dataset[(0, i)] for i in range(6)])
    assert batch["images"].shape == (6, 3, 32, 32) and len(batch["skipped"]) == 1


def test_missing_paths_say_what_was_looked_for(tmp_path):
    with pytest.raises(DataMissingError, match="nothing.csv.*does not exist"):
        open_pairs(_cfg(tmp_path / "nothing.csv"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataMissingError, match=r"no tar shards found.*\*\.tar"):
        open_pairs(_cfg(tmp_path / "empty"))
    with pytest.raises(DataMissingError, match="no training data given"):
        open_pairs(_cfg(""))


def test_data_without_pairs(tmp_path):
    (tmp_path / "e.csv").write_text("filepath,caption\n")
    with pytest.raises(DataError, match="holds no image-caption pairs.*'filepath' and 'caption'"):
        open_pairs(_cfg(tmp_path / "e.csv"))
    write_shard(tmp_path / "s.tar", 0, 2, incomplete=(0, 1))
    with pytest.raises(DataError, match="no image-caption pairs.*KEY.txt.*2 incomplete"):
        open_pairs(_cfg(tmp_path / "s.tar"))


def test_every_bad_sample_in_a_row_is_an_error(tmp_path):
    path, _ = write_csv(tmp_path, 3, corrupt=(0, 1, 2))
    dataset = PairDataset(open_pairs(_cfg(path)), TrainTransform(32), lambda t: torch.zeros(1))
    with pytest.raises(DataError, match="consecutive samples"):
        dataset[(0, 0)]


def test_random_resized_crop_is_seeded_and_in_bounds():
    for seed in range(200):
        top, left, h, w = random_resized_crop_params(40, 30, (0.3, 1.0), random.Random(seed))
        assert 0 <= top and top + h <= 30 and 0 <= left and left + w <= 40
        assert 0.3 * 1200 * 0.8 <= h * w <= 1200
    a = random_resized_crop_params(40, 30, (0.3, 1.0), random.Random("0/1/2"))
    assert a == random_resized_crop_params(40, 30, (0.3, 1.0), random.Random("0/1/2"))


def test_augmentation_depends_only_on_seed_epoch_index(tmp_path):
    path, _ = write_csv(tmp_path, 4)
    ds = PairDataset(
        open_pairs(_cfg(path)), TrainTransform(32, (0.3, 1.0)), lambda t: torch.zeros(1)
    )
    assert torch.equal(ds[(0, 1)][0], ds[(0, 1)][0])
    assert not torch.equal(ds[(0, 1)][0], ds[(1, 1)][0])  # a new epoch, a new crop


def test_step_sampler_splits_the_global_batch_across_ranks():
    single = StepSampler(10, 4, steps=5, seed=3)
    ranks = [StepSampler(10, 4, steps=5, seed=3, rank=r, world_size=2) for r in range(2)]
    for step in range(5):
        assert single.keys(step) == ranks[0].keys(step) + ranks[1].keys(step)
    epoch0 = [k for s in range(2) for k in single.keys(s)]
    assert len({i for _, i in epoch0}) == 8 and {e for e, _ in epoch0} == {0}
    assert single.keys(2)[0][0] == 1  # 10 // 4 = 2 steps per epoch: step 2 starts epoch 1
    resumed = StepSampler(10, 4, steps=5, seed=3, start_step=3)
    assert list(resumed) == [single.keys(3), single.keys(4)]
    with pytest.raises(DataError, match="fewer than one batch"):
        StepSampler(3, 4, steps=1)
    with pytest.raises(Exception, match="does not divide by the world size 3"):
        StepSampler(10, 4, steps=1, world_size=3)


def test_truncated_shard_keeps_the_samples_before_the_damage(tmp_path, capsys):
    path = tmp_path / "s.tar"
    write_shard(path, 0, 8)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    source = open_pairs(_cfg(path))
    assert 0 < len(source) < 8
    assert len(_all_readable(source)) >= len(source) - 1  # the last indexed one may be cut
    assert "damaged" in capsys.readouterr().err
