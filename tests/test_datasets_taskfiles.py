"""The task files' ``source:`` blocks agree with the loaders (names, options, class order)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

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


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """The string literals of a module that are not docstrings, with their lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


LOADER_FILES = sorted(Path(get_loader("cifar").__file__).parent.glob("*.py"))


def test_no_loader_module_holds_a_download_url():
    """A dataset's URLs and checksums live in its task file's ``source.files`` only: no module
    of ``bench.datasets`` (``_download`` included) spells a URL or builds a ``Resource``."""
    assert len(LOADER_FILES) > 30
    urls = [
        f"{p.name}:{line}: {text[:60]}"
        for p in LOADER_FILES
        for line, text in _code_strings(p)
        if "://" in text
    ]
    assert urls == []
    builders = [
        f"{p.name}:{node.lineno}"
        for p in LOADER_FILES
        if p.name != "_download.py"
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Resource"
    ]
    assert builders == []


def test_no_loader_module_has_a_module_level_resource():
    from bench.datasets._download import Resource

    def holds(value, depth=0):
        if isinstance(value, Resource):
            return True
        if depth < 3 and isinstance(value, dict):
            return any(holds(v, depth + 1) for v in value.values())
        if depth < 3 and isinstance(value, (list, tuple)):
            return any(holds(v, depth + 1) for v in value)
        return False

    found = [
        f"{n}.{attr}"
        for n in loader_names()
        for attr, value in vars(get_loader(n)).items()
        if holds(value)
    ]
    assert found == []


@pytest.mark.parametrize("task", list_tasks(), ids=lambda t: t.name)
def test_a_task_lists_files_exactly_when_its_loader_downloads(task):
    """Built-in tasks: files need a loader with ``download``; a dataset-specific loader with
    ``download`` gets every file from the task file (generic loaders may have none)."""
    loader = get_loader(task.source.loader)
    if task.source.files:
        assert hasattr(loader, "download"), task.name
        assert not task.source.manual or "bench download" in task.source.manual, task.name
    elif hasattr(loader, "download"):
        assert hasattr(loader, "LAYOUT") or "embedded" in task.tags, task.name


# Published checksums, copied from the loaders before they moved into the task files (and
# there from the publishers or torchvision): one entry per form a task file uses.
PINNED = {
    "cifar10": [("cifar-10-python.tar.gz", "md5:c58f30108f718f92721af3b95e74349a", True, "")],
    "cifar100": [("cifar-100-python.tar.gz", "md5:eb9058c3a382ffc7106e4002c42a8d85", True, "")],
    "flowers102": [
        ("102flowers.tgz", "md5:52808999861908f626f3c1f4e79d11fa", True, ""),
        ("imagelabels.mat", "md5:e0620be6f572b9609742df49c70aed4d", False, ""),
        ("setid.mat", "md5:a5357ecc9cb78c4bef273ce3793fc85c", False, ""),
    ],
    "oxford_pets": [
        ("images.tar.gz", "md5:5c4f3ee8e5d25df40f4fd59a7f44e54c", True, "oxford-iiit-pet"),
        ("annotations.tar.gz", "md5:95a8c909bbe2e81eed6a22bccdf3f68f", True, "oxford-iiit-pet"),
    ],
    "resisc45": [
        (
            "NWPU-RESISC45.zip",
            "sha256:beeecd0b63656290ae6d65cf7763185b0c1c4c54a753ef8088d6fba3faaf1f53",
            True,
            "",
        )
    ],
    "kitti_distance": [
        ("data_object_image_2.zip", None, True, "raw"),
        ("data_object_label_2.zip", None, True, "raw"),
        ("devkit_object.zip", None, True, ""),
    ],
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_task_files_pin_the_published_checksums(name):
    task = next(t for t in list_tasks() if t.name == name)
    got = [(f.filename, f.checksum, f.extract, f.extract_to) for f in task.source.files]
    assert got == PINNED[name]


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
