"""Every task file validates and matches the paper (issue 3, points 1-4 and 9)."""

from __future__ import annotations

import importlib.util
import re
from importlib.resources import files
from pathlib import Path

import pytest

from bench import metrics
from bench.errors import BenchError, UnknownNameError
from bench.tasks import get_task, list_tasks, load_registry, task_files
from bench.tasks.schema import TaskFileError, parse_task

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"

# The issue's list (the paper's Table 9 for the 27 datasets): classes, metric, train, test.
PAPER = {
    "food101": (101, "accuracy", 75750, 25250),
    "cifar10": (10, "accuracy", 50000, 10000),
    "cifar100": (100, "accuracy", 50000, 10000),
    "birdsnap": (500, "accuracy", 42283, 2149),
    "sun397": (397, "accuracy", 19850, 19850),
    "stanford_cars": (196, "accuracy", 8144, 8041),
    "fgvc_aircraft": (100, "mean_per_class_accuracy", 6667, 3333),
    "voc2007": (20, "map_11point", 5011, 4952),
    "dtd": (47, "accuracy", 3760, 1880),
    "oxford_pets": (37, "mean_per_class_accuracy", 3680, 3669),
    "caltech101": (102, "mean_per_class_accuracy", 3060, 6085),
    "flowers102": (102, "mean_per_class_accuracy", 2040, 6149),
    "mnist": (10, "accuracy", 60000, 10000),
    "fer2013": (7, "accuracy", 32140, 3574),
    "stl10": (10, "accuracy", 1000, 8000),
    "eurosat": (10, "accuracy", 10000, 5000),
    "resisc45": (45, "accuracy", 3150, 25200),
    "gtsrb": (43, "accuracy", 26640, 12630),
    "kitti_distance": (4, "accuracy", 6770, 711),
    "country211": (211, "accuracy", 42200, 21100),
    "pcam": (2, "accuracy", 294912, 32768),
    "ucf101": (101, "accuracy", 9537, 1794),
    "kinetics700": (700, "mean_top1_top5", 494801, 31669),
    "clevr_counts": (8, "accuracy", 2000, 500),
    "hateful_memes": (2, "roc_auc", 8500, 500),
    "rendered_sst2": (2, "accuracy", 7792, 1821),
    "imagenet": (1000, "accuracy", 1281167, 50000),
}
SHIFTS = {
    "imagenetv2": (1000, "accuracy"),
    "imagenet_r": (200, "accuracy"),
    "imagenet_sketch": (1000, "accuracy"),
    "objectnet": (113, "accuracy"),
    "imagenet_a": (200, "accuracy"),
    "imagenet_vid": (30, "pm0_pm10"),
    "ytbb": (24, "pm0_pm10"),
}
RETRIEVAL = {"flickr30k": 1000, "mscoco": 5000}  # Table 13: Karpathy test images
BIAS = ("fairface",)  # the paper's §7.1 probes (issue 14)
ALL = sorted([*PAPER, *SHIFTS, *RETRIEVAL, "digits", "digits_shifted", *BIAS])


def test_exactly_the_issues_tasks_ship_as_package_data():
    names = sorted(
        p.name.removesuffix(".yaml")
        for p in files("bench.taskfiles").iterdir()
        if p.name.endswith(".yaml")
    )
    assert names == ALL
    assert sorted(task_files()) == ALL


def test_tags_form_the_suites():
    assert sorted(t.name for t in list_tasks("paper27")) == sorted(PAPER)
    assert sorted(t.name for t in list_tasks("shifts")) == sorted(SHIFTS)
    assert [t.name for t in list_tasks("embedded")] == ["digits", "digits_shifted"]
    assert [t.name for t in list_tasks("retrieval")] == sorted(RETRIEVAL)
    assert tuple(t.name for t in list_tasks("bias")) == BIAS
    assert [t.name for t in list_tasks()] == ALL
    with pytest.raises(BenchError, match="valid tags: paper27, shifts, embedded"):
        list_tasks("paper28")


@pytest.mark.parametrize("name", ALL)
def test_task_file_validates(name):
    task = get_task(name)
    assert task.name == name
    assert task.metric in metrics.names()
    assert task.num_classes == len(task.classnames) == len(task.class_prompts)
    assert all(t.count("{}") == 1 for t in task.templates)
    assert len(task.config_hash) == 64 and task.version >= 1
    sizes = task.expected_sizes()
    assert sizes["test"] > 0
    if task.val is not None:
        assert sizes["val"] == task.val.size and sizes["train"] > 0
        # the train+val union is the source's training set (Country211: val is outside it)
        union = task.source_splits["train"] + (0 if task.val.within_train else task.val.size)
        assert sizes["train"] + sizes["val"] == union
    hash(task)  # frozen and hashable


@pytest.mark.parametrize("name", sorted(RETRIEVAL))
def test_retrieval_tasks_have_a_kind_and_no_classes(name):
    task = get_task(name)
    assert (task.kind, task.metric, task.tags) == ("retrieval", "retrieval_recall", ("retrieval",))
    assert task.class_prompts == () and task.templates == () and task.val is None
    assert dict(task.splits) == {"test": RETRIEVAL[name]} and task.source.loader == "karpathy"
    assert task.to_dict()["kind"] == "retrieval"


def test_classification_files_carry_no_kind_key():
    """Absent = classification, so the files (and their config hashes) did not change."""
    for name in ALL:
        raw = task_files()[name].decode()
        assert ("kind:" in raw) == (name in RETRIEVAL), name
        assert get_task(name).kind == ("retrieval" if name in RETRIEVAL else "classification")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {"kind": "captioning"},
            "unknown kind 'captioning'; valid kinds: classification, retrieval",
        ),
        ({"classes": ["a"]}, "a retrieval task has no 'classes'"),
        ({"metric": "accuracy"}, "metric 'accuracy' does not score a retrieval task"),
        ({"splits": {"train": 10, "test": 5}}, "only a test split"),
    ],
)
def test_retrieval_kind_is_validated(edit, message):
    import yaml

    data = {**yaml.safe_load(task_files()["flickr30k"]), **edit}
    with pytest.raises(TaskFileError, match=re.escape(message)):
        parse_task(yaml.safe_dump(data).encode(), "flickr30k.yaml", expected_name="flickr30k")


def test_classification_task_without_classes_is_refused():
    import yaml

    data = yaml.safe_load(task_files()["digits"])
    del data["classes"]
    with pytest.raises(TaskFileError, match="missing required key 'classes'"):
        parse_task(yaml.safe_dump(data).encode(), "digits.yaml", expected_name="digits")


@pytest.mark.parametrize("name", sorted(PAPER))
def test_paper_classes_metric_and_splits(name):
    classes, metric, train, test = PAPER[name]
    task = get_task(name)
    assert (task.num_classes, task.metric) == (classes, metric)
    assert dict(task.splits) == {"train": train, "test": test}
    assert task.tags == ("paper27",) and task.imagenet_pool is None
    assert task.val is not None
    assert task.probe_folds == (10 if name == "stl10" else 1)
    assert task.multilabel == (name == "voc2007")
    if task.source_splits != task.splits:  # a known difference must be explained
        assert re.search(r"paper", task.notes)


@pytest.mark.parametrize("name", sorted(SHIFTS))
def test_shifts_pool_imagenet_classes(name):
    classes, metric = SHIFTS[name]
    task = get_task(name)
    assert (task.num_classes, task.metric, task.tags, task.val) == (
        classes,
        metric,
        ("shifts",),
        None,
    )
    assert list(task.splits) == ["test"]
    assert len(task.imagenet_pool) == classes
    assert len(task.templates) == 80 and task.templates == get_task("imagenet").templates
    covered = {i for pool in task.imagenet_pool for i in pool}
    expected = {"imagenetv2": 1000, "imagenet_sketch": 1000, "imagenet_r": 200, "imagenet_a": 200}
    expected |= {"objectnet": 125}
    if name in expected:
        assert len(covered) == expected[name]
    if name in ("imagenet_r", "imagenet_a"):  # one ImageNet class each, named as CLIP's
        imagenet = get_task("imagenet").classnames
        assert all(len(p) == 1 for p in task.imagenet_pool)
        assert task.classnames == tuple(imagenet[p[0]] for p in task.imagenet_pool)


def test_pm_k_shifts_and_objectnet_pools():
    ytbb = get_task("ytbb")
    empty = [ytbb.classnames[i] for i, p in enumerate(ytbb.imagenet_pool) if not p]
    assert sorted(empty) == ["cow", "giraffe", "none", "skateboard", "toilet"]
    vid = get_task("imagenet_vid")
    assert all(vid.imagenet_pool) and vid.classnames[0] == "airplane"
    objectnet = get_task("objectnet")
    assert sum(len(p) > 1 for p in objectnet.imagenet_pool) == 9


def test_fer2013_keeps_several_names_per_class():
    task = get_task("fer2013")
    assert task.class_prompts[3] == ("happy", "smiling")
    assert task.class_prompts[5] == ("surprised", "shocked", "spooked")
    assert task.classnames == (
        "angry",
        "disgusted",
        "fearful",
        "happy",
        "sad",
        "surprised",
        "neutral",
    )


def test_imagenet_uses_clips_names_and_80_templates():
    task = get_task("imagenet")
    assert task.num_classes == 1000 and len(task.templates) == 80
    assert task.classnames[:2] == ("tench", "goldfish")
    assert task.templates[0] == "a bad photo of a {}."


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference is not available")
def test_class_names_templates_and_pools_match_the_references():
    spec = importlib.util.spec_from_file_location("make_tasks", ROOT / "tools" / "make_tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # digits_shifted is a copy of digits, by hand; retrieval tasks have no classes;
    # fairface's wording is chosen by hand (its notes say so)
    generated = [n for n in ALL if n not in ("digits_shifted", *RETRIEVAL, *BIAS)]
    assert [p for name in generated for p in module.check(name)] == []


def _digits_bytes() -> bytes:
    return task_files()["digits"]


def test_unknown_top_level_key_is_rejected_with_its_name_and_file():
    raw = _digits_bytes() + b"num_clases: 10\n"
    with pytest.raises(
        TaskFileError, match=r"digits\.yaml.*unknown key 'num_clases'.*valid keys: name"
    ):
        parse_task(raw, "digits.yaml", expected_name="digits")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"val: {official: false,", b"val: {oficial: false,", "unknown key 'oficial' in val"),
        (b"  loader: digits", b"  loader: digits\n  url: x", "unknown key 'url' in source"),
        (b"metric: accuracy", b"metric: acc", "unknown metric 'acc'; valid metrics: accuracy"),
        (b"tags: [embedded]", b"tags: [embeded]", "unknown tag 'embeded'"),
        (b"version: 1", b"version: true", "version must be int"),
        (
            b"splits: {train: 1200, test: 597}",
            b"splits: {train: 1200}",
            "missing required key 'test'",
        ),
        (b'  - "a photo of the number {}."', b'  - "a photo"', "must contain '{}' exactly once"),
        (b"name: digits", b"name: digit", "must be lowercase and equal the file name 'digits'"),
        (b"imagenet_pool: null", b"imagenet_pool: all", "needs 1000 classes"),
        (b"size: 120", b"size: 5000", "val.size 5000 must be smaller than splits.train 1200"),
    ],
)
def test_bad_values_are_rejected_with_the_fix(old, new, message):
    raw = _digits_bytes()
    assert old in raw
    with pytest.raises(TaskFileError, match=re.escape(message)):
        parse_task(raw.replace(old, new, 1), "digits.yaml", expected_name="digits")


def test_yaml_syntax_error_is_not_swallowed():
    with pytest.raises(TaskFileError, match="not valid YAML"):
        parse_task(b"name: [digits\n", "digits.yaml")


def test_config_hash_is_the_sha256_of_the_file_bytes():
    import hashlib

    raw = _digits_bytes()
    assert get_task("digits").config_hash == hashlib.sha256(raw).hexdigest()
    assert parse_task(raw + b"\n", "digits.yaml").config_hash != get_task("digits").config_hash


def test_unknown_task_gives_close_matches_and_the_listing_command():
    with pytest.raises(UnknownNameError) as info:
        get_task("cifar11")
    assert "'cifar10'" in str(info.value) and "bench tasks" in str(info.value)


def test_a_broken_task_file_raises_instead_of_dropping_out(monkeypatch):
    import bench.tasks as tasks

    broken = dict(task_files())
    broken["digits"] = broken["digits"].replace(b"metric: accuracy", b"metric: top1")
    monkeypatch.setattr(tasks, "task_files", lambda: broken)
    with pytest.raises(TaskFileError, match="digits.yaml: unknown metric 'top1'"):
        load_registry()


@pytest.mark.slow
def test_the_wheel_ships_the_task_files(tmp_path):
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "*.egg-info", "results", "reports", "__pycache__"
        ),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(
        n.removeprefix("bench/taskfiles/").removesuffix(".yaml")
        for n in names
        if n.startswith("bench/taskfiles/") and n.endswith(".yaml")
    )
    assert shipped == ALL
