"""Datasets from CLIP_benchmark's webdataset mirrors: the same items as the official layout."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
from _datasets_fixtures import build_cifar, color, write_mirror_names, write_shards
from _tasks_fixtures import build_imagefolder
from eval_fixtures import run_cli
from PIL import Image

import bench.datasets._hub as hub
from bench.datasets import get_loader
from bench.errors import BenchError, DataMissingError
from bench.tasks import ValSpec, add_task_dirs, get_task
from bench.tasks.schema import TaskFileError, parse_task


def _mirror_from_official(task, official_root: Path, mirror_root: Path) -> None:
    """Writes the mirror layout from what the official loader reads, in its order."""
    loader = get_loader(task.source.loader)
    for split in task.mirror.splits:
        ds = loader.load(task, split, official_root / task.name, **task.source.options)
        write_shards(mirror_root, split, [ds[i] for i in range(len(ds))], per_shard=4)
    write_mirror_names(mirror_root, task.classnames, task.templates)


def _same_items(a, b) -> None:
    assert len(a) == len(b) and list(a.labels) == list(b.labels)
    for i in range(len(a)):
        (ia, la), (ib, lb) = a[i], b[i]
        assert la == lb and ia.size == ib.size and ia.tobytes() == ib.tobytes(), i


def _both_layouts(task, tmp_path: Path) -> tuple[Path, Path]:
    official, mirrored = tmp_path / "official", tmp_path / "mirrored"
    _mirror_from_official(task, official, task.mirror_root(mirrored))
    assert task.data_source(official) == "official"
    assert task.data_source(mirrored) == "hf-mirror" and task.is_present(mirrored)
    return official, mirrored


def test_cifar10_from_the_mirror_gives_the_official_items(tmp_path: Path):
    build_cifar(tmp_path / "official" / "cifar10")
    task = get_task("cifar10")
    assert task.mirror.repo == "clip-benchmark/wds_vtab-cifar10"
    mirror = dataclasses.replace(task.mirror, splits={"train": "unknown", "test": "same"})
    task = dataclasses.replace(task, mirror=mirror, val=ValSpec(official=False, size=2))
    official, mirrored = _both_layouts(task, tmp_path)
    for split in ("train", "val", "test"):
        _same_items(task.dataset(split, official), task.dataset(split, mirrored))
    assert len(task.dataset("val", mirrored)) == 2


def test_imagefolder_task_from_the_mirror_gives_the_official_items(
    imagefolder_task: Path, tmp_path: Path
):
    path = imagefolder_task / "colours.yaml"
    path.write_text(
        path.read_text() + "mirror: {repo: me/wds_colours, splits: {train: same, test: same}}\n"
    )
    add_task_dirs([imagefolder_task])
    task = get_task("colours")
    build_imagefolder(tmp_path / "official" / "colours", {"train": 6, "test": 3})
    official, mirrored = _both_layouts(task, tmp_path)
    for split in ("train", "val", "test"):
        _same_items(task.dataset(split, official), task.dataset(split, mirrored))
    # Both there: the official layout is read.
    _mirror_from_official(task, official, task.mirror_root(official))
    assert task.data_source(official) == "official"


def _cifar_mirror_only(tmp_path: Path, **names) -> tuple:
    task = get_task("cifar10")
    root = task.mirror_root(tmp_path)
    items = [(Image.new("RGB", (4, 4), color(i)), i % 10) for i in range(3)]
    write_shards(root, "test", items)
    write_mirror_names(root, names.get("classes", task.classnames), names.get("templates"))
    return task, root


def test_mirror_with_other_class_names_is_refused(tmp_path: Path):
    classes = list(get_task("cifar10").classnames)
    classes[1] = "car"
    task, root = _cifar_mirror_only(tmp_path, classes=classes)
    with pytest.raises(BenchError, match=r"entry 1: 'car', the task has 'automobile'"):
        task.dataset("test", tmp_path)


def test_mirror_templates_are_checked(tmp_path: Path):
    templates = list(get_task("cifar10").templates)
    task, _ = _cifar_mirror_only(tmp_path, templates=templates)
    assert task.dataset("test", tmp_path).labels == [0, 1, 2]  # {c} reads as {}
    task, _ = _cifar_mirror_only(tmp_path, templates=templates[:-1])
    with pytest.raises(BenchError, match="templates at entry"):
        task.dataset("test", tmp_path)


def test_a_split_the_mirror_lacks_is_missing_data(tmp_path: Path):
    task = dataclasses.replace(
        get_task("cifar10"),
        mirror=dataclasses.replace(get_task("cifar10").mirror, splits={"test": "same"}),
    )
    root = task.mirror_root(tmp_path)
    write_shards(root, "test", [(Image.new("RGB", (4, 4)), 0)])
    write_mirror_names(root, task.classnames)
    with pytest.raises(DataMissingError, match="has no 'train' split"):
        task.dataset("train", tmp_path)


def test_shards_are_read_in_numeric_order(tmp_path: Path):
    task = get_task("cifar10")
    items = [(Image.new("RGB", (4, 4), color(i)), i % 10) for i in range(12)]
    write_shards(tmp_path, "test", items, per_shard=1)  # 0.tar ... 11.tar
    write_mirror_names(tmp_path, task.classnames)
    ds = get_loader("wds").load(task, "test", tmp_path)
    assert ds.labels == [i % 10 for i in range(12)]
    assert [ds[i][0].getpixel((0, 0)) for i in (2, 10, 11)] == [color(2), color(10), color(11)]


def test_label_out_of_range_is_refused(tmp_path: Path):
    task = get_task("cifar10")
    write_shards(tmp_path, "test", [(Image.new("RGB", (4, 4)), 10)])
    write_mirror_names(tmp_path, task.classnames)
    with pytest.raises(BenchError, match="label '10'; valid: 0..9"):
        get_loader("wds").load(task, "test", tmp_path)


def test_download_hf_fetches_the_mirror_and_the_task_reads_it(tmp_path, monkeypatch, capsys):
    calls = []

    def fake_snapshot(repo_id, repo_type, local_dir, allow_patterns):
        calls.append((repo_id, repo_type, allow_patterns))
        items = [(Image.new("RGB", (4, 4), color(i)), i) for i in range(10)]
        write_shards(Path(local_dir), "test", items)
        write_mirror_names(Path(local_dir), get_task("cifar10").classnames)

    monkeypatch.setattr(hub, "_snapshot_download", lambda: fake_snapshot)
    data = tmp_path / "data"
    code, out, err = run_cli("download", "cifar10", "--source", "hf", "--data-root", str(data))
    assert code == 0, err
    assert calls == [
        (
            "clip-benchmark/wds_vtab-cifar10",
            "dataset",
            [
                "classnames.txt",
                "zeroshot_classification_templates.txt",
                "test/*.tar",
                "train/*.tar",
            ],
        )
    ]
    assert "downloaded" in out and "hf-mirror" in out
    task = get_task("cifar10")
    assert task.data_source(data) == "hf-mirror" and task.dataset("test", data).labels == list(
        range(10)
    )
    code, out, _ = run_cli("download", "cifar10", "--source", "hf", "--data-root", str(data))
    assert code == 0 and "present" in out and len(calls) == 1


def test_download_hf_without_the_extra_names_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    code, _, err = run_cli("download", "cifar10", "--source", "hf")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "pip install 'bench[hf]'" in err and "huggingface_hub" in err


@pytest.mark.network
def test_download_hf_real_mirror(tmp_path: Path):
    """The real hub: ImageNet-A's mirror (test only), read through the task."""
    task = get_task("imagenet_a")
    code, out, err = run_cli(
        "download", "imagenet_a", "--source", "hf", "--data-root", str(tmp_path)
    )
    assert code == 0, err
    assert task.data_source(tmp_path) == "hf-mirror"
    assert len(task.dataset("test", tmp_path)) == task.expected_sizes()["test"]


def _with_mirror(block: str) -> bytes:
    """cifar10's task file with its mirror block (the file's last lines) replaced."""
    from bench.tasks import task_files

    text = task_files()["cifar10"].decode()
    return (text[: text.index("\nmirror:")] + "\n" + block + "\n").encode()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "mirror: {repo: a/b, splits: {test: equal}}",
            "mirror.splits.test is 'equal'; valid: same, differs, unknown",
        ),
        (
            "mirror: {repo: a/b, splits: {val: same}}",
            "names split 'val'; valid splits: train, test",
        ),
        ("mirror: {repo: a/b, splits: {test: unknown}}", "mirror.notes must say"),
        ("mirror: {repo: nope, splits: {test: same}}", "must be a hub repository"),
        (
            "mirror: {repo: a/b, splits: {test: same}, revision: x}",
            "unknown key 'revision' in mirror",
        ),
    ],
)
def test_mirror_block_is_validated(block: str, message: str):
    parse_task(_with_mirror("mirror: {repo: a/b, splits: {test: same}}"), "cifar10.yaml")
    with pytest.raises(TaskFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_task(_with_mirror(block), "cifar10.yaml", expected_name="cifar10")


def test_every_mirror_names_a_clip_benchmark_repo_and_says_why_where_not_same():
    from bench.tasks import list_tasks

    mirrored = [t for t in list_tasks() if t.mirror is not None]
    assert len(mirrored) >= 25
    for task in mirrored:
        assert task.mirror.repo.startswith("clip-benchmark/wds_"), task.name
        if set(task.mirror.splits.values()) != {"same"}:
            assert task.mirror.notes, task.name
    assert json.dumps(get_task("fer2013").to_dict()["mirror"]["splits"]) == '{"test": "differs"}'


def test_results_record_that_the_mirror_was_read(tmp_path, monkeypatch):
    from eval_fixtures import save_tiny

    from bench.results import read_result

    def fake_snapshot(repo_id, repo_type, local_dir, allow_patterns):
        items = [(Image.new("RGB", (4, 4), color(i)), i) for i in range(10)]
        write_shards(Path(local_dir), "test", items)
        write_mirror_names(Path(local_dir), get_task("cifar10").classnames)

    monkeypatch.setattr(hub, "_snapshot_download", lambda: fake_snapshot)
    data, out = tmp_path / "data", tmp_path / "r"
    assert run_cli("download", "cifar10", "--source", "hf", "--data-root", str(data))[0] == 0
    ckpt = save_tiny(tmp_path / "tiny.pt")
    code, _, err = run_cli(
        "run", "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "cifar10",
        "--data-root", str(data), "--out", str(out), "--allow-partial", "--workers", "0",
        "--quiet",
    )  # fmt: skip
    assert code == 0, err
    extra = read_result(out / "tiny" / "cifar10" / "zero-shot.json").extra
    assert extra["data_source"] == "hf-mirror"
    assert extra["mirror_splits"].startswith("test=")


@pytest.mark.parametrize(("status", "marked"), [("differs", True), ("same", False)])
def test_reports_mark_a_mirror_split_that_is_not_the_papers(
    imagefolder_task: Path, tmp_path: Path, status: str, marked: bool
):
    """Issue 13, point 4: `bench run` on the mirror, then the report's table marks the value
    (and names the split) only when the mirror's test split is not the paper's."""
    from eval_fixtures import save_tiny

    from bench.report.collect import collect
    from bench.report.tables import MIRROR, suite_table

    path = imagefolder_task / "colours.yaml"
    path.write_text(path.read_text() + "mirror: {repo: me/wds_colours, splits: "
                    f"{{train: same, test: {status}}}, notes: a test}}\n")  # fmt: skip
    add_task_dirs([imagefolder_task])
    build_imagefolder(tmp_path / "official" / "colours", {"train": 6, "test": 3})
    _, mirrored = _both_layouts(get_task("colours"), tmp_path)
    out = tmp_path / "r"
    code, _, err = run_cli(
        "run", "--model", str(save_tiny(tmp_path / "tiny.pt")), "--suite", "zero-shot",
        "--tasks", "colours", "--tasks-dir", str(imagefolder_task), "--data-root",
        str(mirrored), "--out", str(out), "--workers", "0", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    table = suite_table(collect(out).frame, "zero-shot").to_markdown()
    assert (MIRROR in table) is marked
    assert ("colours: test differs" in table) is marked
