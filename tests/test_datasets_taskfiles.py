"""The task files' ``source:`` blocks agree with the loaders (names, options, class order)."""

from __future__ import annotations

import inspect

import pytest

from bench.datasets import get_loader, loader_names
from bench.datasets._common import index_by_name
from bench.datasets._imagenet import read_data, task_positions, wnid_index
from bench.errors import DataMissingError
from bench.tasks import list_tasks

TASKS = [t for t in list_tasks() if t.source.loader != "digits"]


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
def test_source_block_matches_loader(task):
    loader = get_loader(task.source.loader)
    # Every option is a parameter of load (a typo would raise a TypeError at load time).
    inspect.signature(loader.load).bind(task, "test", "/nowhere", None, **task.source.options)
    # The official validation split is the loader's "val" exactly when the task says so.
    if task.val is not None:
        assert task.val.official == loader.OFFICIAL_VAL, task.name
    assert "test" in loader.SPLITS


def test_no_loader_holds_manual_steps():
    """A dataset's manual steps live in its task file only (``source.manual``), never twice."""
    holders = [n for n in loader_names() if hasattr(get_loader(n), "MANUAL")]
    assert holders == []


MANUAL_TASKS = [t for t in list_tasks() if not hasattr(get_loader(t.source.loader), "download")]


def test_tasks_that_cannot_be_downloaded_exist():
    assert len(MANUAL_TASKS) >= 8  # imagenet, objectnet, fer2013, ... (not an empty sweep)


@pytest.mark.parametrize("task", MANUAL_TASKS, ids=lambda t: t.name)
def test_task_that_cannot_be_downloaded_has_manual_steps(task, tmp_path):
    """Its loader has no ``download``: the task file says how to get the data by hand, and the
    missing-data error of ``task.dataset`` gives exactly those steps."""
    manual = task.source.manual
    assert manual and len(manual.strip()) > 80, task.name
    with pytest.raises(DataMissingError) as info:
        task.dataset("test", tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert message.endswith(f"get it by hand: {manual.strip()}")


def _task(name):
    return next(t for t in TASKS if t.name == name)


def test_name_matched_classes_exist_in_task_files():
    from bench.datasets.eurosat import PAPER_NAMES
    from bench.datasets.voc2007 import VOC_CLASSES

    voc = index_by_name(_task("voc2007"), VOC_CLASSES, "VOC2007")
    assert sorted(voc) == list(range(20))
    eurosat = index_by_name(_task("eurosat"), [PAPER_NAMES[f] for f in sorted(PAPER_NAMES)], "x")
    assert sorted(eurosat) == list(range(10))


def test_kinetics_folder_names_are_unique():
    from bench.datasets.kinetics700 import folder_name

    names = _task("kinetics700").classnames
    assert len({folder_name(c) for c in names}) == len(names) == 700


def test_clevr_class_order_matches_task():
    from bench.datasets.clevr_counts import CLASSES

    assert tuple(_task("clevr_counts").classnames) == CLASSES


@pytest.mark.parametrize("name", ["imagenet_r", "imagenet_a"])
def test_shift_wnids_match_task_pools(name):
    import importlib

    wnids = importlib.import_module(f"bench.datasets.{name}").class_wnids()
    positions = task_positions(_task(name), [(wnid_index()[w],) for w in wnids])
    assert sorted(positions) == list(range(200))


def test_objectnet_classes_match_task_pools():
    from bench.datasets.objectnet import classes

    positions = task_positions(_task("objectnet"), [ids for _, _, ids in classes()])
    assert sorted(positions) == list(range(113))


@pytest.mark.parametrize(
    "name,folder,n", [("imagenet_vid", "imagenet_vid", 30), ("ytbb", "ytbb", 24)]
)
def test_video_shift_pools_match_testbed(name, folder, n):
    task = _task(name)
    assert task.num_classes == n
    rev = read_data(f"{folder}/rev_class_idx_map.json")
    for k, pool in enumerate(task.imagenet_pool):
        assert sorted(pool) == sorted(rev.get(str(k), [])), (name, k)
