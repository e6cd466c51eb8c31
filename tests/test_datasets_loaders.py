"""Every loader reads a miniature fixture written in its real source's on-disk format."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch
from _datasets_fixtures import BUILDERS, FakeTask, build_caltech101, build_food101

from bench.datasets import get_loader, loader_names
from bench.errors import BenchError, CorruptImageError, DataMissingError
from bench.tasks import Source

# Loaders owned elsewhere (digits is embedded and tested with the tasks).
NOT_FIXTURED = {"digits"}
LOADERS = [n for n in loader_names() if n not in NOT_FIXTURED]
TASK_OF = {"cifar": "cifar10"}  # loader -> a task that uses it, where the names differ


def _labels(ds) -> list:
    labels = ds.labels
    return list(labels) if isinstance(labels, torch.Tensor) else labels


def test_every_loader_has_a_fixture():
    assert sorted(set(LOADERS) - set(BUILDERS)) == []


def test_required_decoders_are_installed():
    """``av`` (video tasks) and ``h5py`` (PCam) are required dependencies: a missing one fails."""
    import av  # noqa: F401
    import h5py  # noqa: F401


@pytest.mark.parametrize("name", LOADERS)
def test_loader_reads_its_fixture(name: str, tmp_path: Path):
    loader = get_loader(name)
    expect = BUILDERS[name](tmp_path)
    assert loader.is_present(expect.task, tmp_path, **expect.options)
    for split, want in expect.labels.items():
        ds = loader.load(expect.task, split, tmp_path, **expect.options)
        assert len(ds) == len(want), split
        got = _labels(ds)
        if isinstance(want, torch.Tensor):
            assert torch.equal(ds.labels, want), split
        elif want and isinstance(want[0], torch.Tensor):
            assert torch.equal(torch.stack(got), torch.stack(want)), split
        else:
            assert got == want, split
        if name not in ("imagenet_vid", "ytbb"):  # their frames are not all on disk
            for i in range(len(ds)):
                image, label = ds[i]
                assert image.mode == "RGB"
                if isinstance(label, torch.Tensor):
                    assert torch.equal(label, got[i])
                else:
                    assert label == got[i]
        if expect.check:
            expect.check(tmp_path, ds)


STEPS = "sign in at the dataset's homepage, download its archive and unpack it in <data root>"


@pytest.mark.parametrize("name", LOADERS)
@pytest.mark.parametrize("manual", [None, STEPS], ids=["no-manual", "manual"])
def test_missing_data_names_path_and_remedy(name: str, manual: str | None, tmp_path: Path):
    """The remedy is the task file's manual steps, else the loader's download (or, for a
    generic loader, the files it reads)."""
    loader = get_loader(name)
    source = Source(loader=name, manual=manual)
    expect_task = FakeTask(TASK_OF.get(name, name), num_classes=1, source=source)
    assert not loader.is_present(expect_task, tmp_path)
    split = loader.SPLITS[0]
    with pytest.raises(DataMissingError) as info:
        loader.load(expect_task, split, tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    if manual:
        assert message.endswith(f"get it by hand: {STEPS}")
    elif hasattr(loader, "LAYOUT"):
        assert message.endswith(f"put it there: {loader.LAYOUT}")
    else:
        assert f"run `bench download {TASK_OF.get(name, name)}`" in message


@pytest.mark.parametrize("name", LOADERS)
def test_unknown_split_is_refused(name: str, tmp_path: Path):
    loader = get_loader(name)
    with pytest.raises(BenchError, match="valid:"):
        loader.load(FakeTask(TASK_OF.get(name, name)), "validation", tmp_path)


def test_val_only_where_official(tmp_path: Path):
    for name in LOADERS:
        loader = get_loader(name)
        assert ("val" in loader.SPLITS) == loader.OFFICIAL_VAL, name


def test_corrupt_image_names_the_file(tmp_path: Path):
    expect = build_food101(tmp_path)
    bad = tmp_path / "food-101" / "images" / "apple_pie" / "100.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    ds = get_loader("food101").load(expect.task, "train", tmp_path)
    with pytest.raises(CorruptImageError) as info:
        ds[0]
    assert str(bad) in str(info.value)


def test_truncated_image_is_corrupt(tmp_path: Path):
    expect = build_food101(tmp_path)
    path = tmp_path / "food-101" / "images" / "baklava" / "102.jpg"
    path.write_bytes(path.read_bytes()[:40])
    ds = get_loader("food101").load(expect.task, "train", tmp_path)
    with pytest.raises(CorruptImageError, match="102.jpg"):
        ds[4]


def test_wrong_class_count_is_refused(tmp_path: Path):
    expect = build_food101(tmp_path)
    with pytest.raises(DataMissingError, match="3 classes, the task has 101"):
        get_loader("food101").load(FakeTask("food101", num_classes=101), "train", tmp_path)
    assert expect.task.num_classes == 3


def test_per_class_sample_is_deterministic_and_disjoint(tmp_path: Path):
    expect = build_caltech101(tmp_path)
    loader = get_loader("caltech101")
    a = loader.load(expect.task, "train", tmp_path, **expect.options)
    b = loader.load(expect.task, "train", tmp_path, **expect.options)
    test = loader.load(expect.task, "test", tmp_path, **expect.options)
    assert a.paths == b.paths
    assert not set(a.paths) & set(test.paths)
    assert len(set(a.paths) | set(test.paths)) == 4 + 5 + 6
    other = loader.load(expect.task, "train", tmp_path, train_per_class=2, seed=1)
    assert other.paths != a.paths  # the seed matters


def test_stl10_folds(tmp_path: Path):
    expect = BUILDERS["stl10"](tmp_path)
    loader = get_loader("stl10")
    fold0 = loader.load(expect.task, "train", tmp_path, fold=0)
    fold1 = loader.load(expect.task, "train", tmp_path, fold=1)
    assert fold0.labels == [3, 0] and fold1.labels == [1, 2]  # fold_indices.txt rows
    with pytest.raises(BenchError, match="out of range"):
        loader.load(expect.task, "train", tmp_path, fold=10)
    with pytest.raises(BenchError, match="no folds"):
        get_loader("cifar").load(FakeTask("cifar10"), "train", tmp_path, fold=0)


def test_kitti_distance_bins():
    from bench.datasets.kitti_distance import THRESHOLDS

    def label(depth: float) -> int:
        import numpy as np

        return int(np.max(np.flatnonzero(THRESHOLDS - depth < 0)))

    assert [label(d) for d in (0.5, 8.0, 8.01, 20.0, 20.5, 998.0, 1000.0)] == [0, 0, 1, 1, 2, 2, 3]


def test_ytbb_reads_pmk_labels_when_supplied(tmp_path: Path):
    from bench.datasets.ytbb import anchor_labels

    anchors = sorted(anchor_labels())
    a = anchors[0]
    folder, name = a.split("/")
    index = int(name.split("-")[1].split(".")[0])
    near = [f"{folder}/frame-{index + o}.jpg" for o in (-1, 2, 11)]
    review = {
        "labels": ["similar", "dissimilar", "bad-anchor"],
        "annotations": [
            {"key": f"/x/{a},/x/{near[0]}", "labels": [0]},  # valid
            {"key": f"/x/{a},/x/{near[1]}", "labels": [0, 1]},  # a problem label: dropped
            {"key": f"/x/{a},/x/{near[2]}", "labels": [0]},  # outside +-10: dropped
            {"key": f"/x/{anchors[1]},/x/{anchors[1]}", "labels": [2]},  # bad anchor
        ],
    }
    import json

    (tmp_path / "ytbb-robust").mkdir()
    (tmp_path / "pmk_labels.json").write_text(json.dumps(review))
    ds = get_loader("ytbb").load(FakeTask("ytbb", num_classes=24), "test", tmp_path)
    assert ds.pmk_available
    assert len(ds) == len(anchors) - 1 + 1  # one bad anchor out, one neighbour in
    a_index = ds.anchors[0]
    assert ds.paths[a_index].endswith(a)
    (n,) = ds.pmk_sets[a_index]
    assert ds.paths[n].endswith(near[0])
    assert torch.equal(ds.labels[n], ds.labels[a_index])
    assert all(not p.endswith(anchors[1]) for p in ds.paths)


def test_shift_pool_mismatch_is_a_task_file_error(tmp_path: Path):
    expect = BUILDERS["imagenet_r"](tmp_path)
    bad = FakeTask("imagenet_r", num_classes=200, imagenet_pool=((1, 2),) * 200)
    with pytest.raises(BenchError, match="imagenet_pool"):
        get_loader("imagenet_r").load(bad, "test", tmp_path)
    assert expect.labels


def test_loaders_define_the_contract():
    for name in LOADERS:
        module = importlib.import_module(f"bench.datasets.{name}")
        assert callable(module.load) and callable(module.is_present), name
        assert module.__doc__ and "On disk" in module.__doc__, name


@pytest.mark.parametrize("name", LOADERS)
def test_dataset_pickles_for_spawned_workers(name: str, tmp_path: Path):
    import pickle

    expect = BUILDERS[name](tmp_path)
    split = next(iter(expect.labels))
    ds = get_loader(name).load(expect.task, split, tmp_path, **expect.options)
    if name not in ("imagenet_vid", "ytbb"):
        ds[0]  # an open file handle (pcam) must not break pickling
    copy = pickle.loads(pickle.dumps(ds))
    assert len(copy) == len(ds)
    if name not in ("imagenet_vid", "ytbb"):
        assert copy[0][0].tobytes() == ds[0][0].tobytes()


def test_corrupt_video_names_the_file(tmp_path: Path):
    expect = BUILDERS["ucf101"](tmp_path)
    bad = tmp_path / "UCF-101" / "YoYo" / "v_YoYo_g08_c01.avi"
    bad.write_bytes(b"RIFF\x00\x00 definitely not a video")
    ds = get_loader("ucf101").load(expect.task, "train", tmp_path)
    with pytest.raises(CorruptImageError, match="v_YoYo_g08_c01.avi"):
        ds[0]
    # A pre-extracted middle frame is used instead of decoding, where present.
    from _datasets_fixtures import save_image

    save_image(tmp_path / "frames" / "YoYo" / "v_YoYo_g08_c01.jpg", 3)
    assert ds[0][0].size == (8, 8)
