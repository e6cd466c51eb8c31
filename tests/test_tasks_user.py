"""Your own tasks: task files from --tasks-dir / $BENCH_TASKS_PATH with the generic loaders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _tasks_fixtures import CLASSES, colour_image, task_yaml, write_task
from eval_fixtures import _one_thread, run_cli, save_tiny  # noqa: F401

from bench.errors import BenchError
from bench.tasks import add_task_dirs, broken_tasks, get_task, list_tasks


def test_imagefolder_labels_follow_the_class_list_not_folder_order(imagefolder_task: Path):
    add_task_dirs([imagefolder_task])
    task = get_task("colours")
    assert task.origin == str(imagefolder_task / "colours.yaml") and task.tags == ("user",)
    test = task.dataset("test")
    assert test.labels == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    image, label = test[4]  # the second green image
    assert label == 1 and image.getpixel((0, 0)) == (31, 201, 31)
    train, val = task.dataset("train"), task.dataset("val")
    assert len(train) == 12 and len(val) == 6 and sorted(val.labels) == [0, 0, 1, 1, 2, 2]
    assert "colours" in [t.name for t in list_tasks("user")]
    assert "colours" not in [t.name for t in list_tasks("paper27")]


def test_bench_run_zero_shot_and_linear_probe_on_a_user_task(
    imagefolder_task: Path, tmp_path: Path
):
    ckpt = save_tiny(tmp_path / "tiny.pt")
    out = tmp_path / "results"
    for suite in ("zero-shot", "linear-probe"):
        code, stdout, err = run_cli(
            "run", "--model", str(ckpt), "--suite", suite, "--tasks", "colours",
            "--tasks-dir", str(imagefolder_task), "--out", str(out), "--device", "cpu",
            "--workers", "0", "--quiet", "--json",
        )  # fmt: skip
        assert code == 0, err
        written = json.loads(stdout)["results"]
        assert [r["task"] for r in written] == ["colours"], written
    zs = json.loads((out / "tiny" / "colours" / "zero-shot.json").read_text())
    lp = json.loads((out / "tiny" / "colours" / "linear-probe.json").read_text())
    assert zs["prompts"]["classnames"] == CLASSES and zs["split_sizes"]["test"] == 9
    assert lp["split_sizes"]["train"] == 12 and lp["split_sizes"]["val"] == 6
    # Solid colours are linearly separable: the probe must get every test image right.
    assert lp["value"] == 100.0


def test_env_path_adds_task_files(imagefolder_task: Path, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(BenchError, match="colours"):
        get_task("colours")
    monkeypatch.setenv("BENCH_TASKS_PATH", str(imagefolder_task / "missing"))
    with pytest.raises(BenchError, match="BENCH_TASKS_PATH"):
        get_task("cifar10")
    monkeypatch.setenv("BENCH_TASKS_PATH", str(imagefolder_task))
    assert get_task("colours").num_classes == 3


def test_broken_user_file_fails_only_when_used(imagefolder_task: Path):
    write_task(imagefolder_task, "broken", "name: broken\ntitle: x\nversion: 1\ncolour: red\n")
    add_task_dirs([imagefolder_task])
    assert get_task("cifar10").num_classes == 10 and get_task("colours").num_classes == 3
    assert "broken" not in [t.name for t in list_tasks()]
    assert "unknown key 'colour'" in broken_tasks()["broken"]
    with pytest.raises(BenchError, match="unknown key 'colour'"):
        get_task("broken")


def test_bench_tasks_lists_builtins_and_the_broken_file(imagefolder_task: Path):
    write_task(imagefolder_task, "broken", "name: broken\n")
    code, out, _ = run_cli("tasks", "--tasks-dir", str(imagefolder_task))
    assert code == 0
    assert any(line.startswith("cifar10 ") for line in out.splitlines())
    assert any(line.startswith("colours ") for line in out.splitlines())
    broken = [line for line in out.splitlines() if line.startswith("broken: broken:")]
    assert len(broken) == 1 and "missing required key" in broken[0]
    code, out, _ = run_cli("tasks", "--tasks-dir", str(imagefolder_task), "--json")
    rows = {r["name"]: r for r in json.loads(out)}
    assert (
        "missing required key" in rows["broken"]["broken"]
        and rows["cifar10"]["present"] is not None
    )


def test_user_task_with_a_builtin_name_is_refused(imagefolder_task: Path):
    text = task_yaml("cifar10", "imagefolder", "{}", train=18, test=9, val=6)
    write_task(imagefolder_task, "cifar10", text)
    add_task_dirs([imagefolder_task])
    with pytest.raises(BenchError, match="names cannot collide|cannot collide"):
        get_task("colours")


def test_user_task_cannot_join_the_papers_tags(imagefolder_task: Path):
    text = task_yaml("mine", "imagefolder", "{}", train=18, test=9, val=6)
    write_task(imagefolder_task, "mine", text.replace("metric:", "tags: [paper27]\nmetric:"))
    add_task_dirs([imagefolder_task])
    with pytest.raises(BenchError, match=r"tags of a user task file must be \[user\]"):
        get_task("mine")


def test_imagefolder_refuses_a_folder_that_is_no_class(imagefolder_task: Path, tmp_path: Path):
    colour_image(tmp_path / "data" / "colours" / "test" / "purple" / "0.png", "red", 0)
    add_task_dirs([imagefolder_task])
    with pytest.raises(BenchError, match="purple.*is not a class of the task"):
        get_task("colours").dataset("test")


@pytest.mark.parametrize("label_by", ["name", "index"])
def test_csv_loader_resolves_paths_against_the_csv(tmp_path: Path, monkeypatch, label_by: str):
    data = tmp_path / "data"
    monkeypatch.setenv("BENCH_DATA", str(data))
    root = data / "listed"
    rows = {"train": [], "test": []}
    for split, n in (("train", 4), ("test", 2)):
        for c, cls in enumerate(CLASSES):
            for i in range(n):
                rel = f"../images/{split}-{cls}-{i}.png"  # relative to lists/
                colour_image(root / "lists" / rel, cls, i)
                rows[split].append((rel, cls if label_by == "name" else str(c), c))
    absolute = colour_image(tmp_path / "elsewhere" / "x.png", "blue", 5)
    rows["test"].append((str(absolute), "blue" if label_by == "name" else "2", 2))
    for split, items in rows.items():
        body = "".join(f"{path},{label}\n" for path, label, _ in items)
        (root / "lists" / f"{split}.csv").write_text("file,cls\n" + body)
    options = (
        "{files: {train: lists/train.csv, test: lists/test.csv}, image_column: file, "
        f"label_column: cls, label_by: {label_by}}}"
    )
    write_task(
        tmp_path / "t", "listed", task_yaml("listed", "csv", options, train=12, test=7, val=3)
    )
    add_task_dirs([tmp_path / "t"])
    task = get_task("listed")
    test = task.dataset("test")
    assert test.labels == [c for _, _, c in rows["test"]]
    assert test[6][0].getpixel((0, 0)) == (30 + 5 % 7, 30, 200 + 5 % 3)
    assert test[2][0].getpixel((0, 0)) == (30, 200, 30)
    assert len(task.dataset("train")) == 9 and len(task.dataset("val")) == 3


def test_csv_loader_refuses_an_unknown_label(tmp_path: Path):
    from _datasets_fixtures import FakeTask

    from bench.datasets import get_loader

    colour_image(tmp_path / "a.png", "red", 0)
    (tmp_path / "test.csv").write_text("image,label\na.png,purple\n")
    with pytest.raises(BenchError, match=r"row 2: label 'purple' is not a class.*red, green"):
        get_loader("csv").load(FakeTask("x", tuple(CLASSES)), "test", tmp_path)
    (tmp_path / "test.csv").write_text("path,label\na.png,red\n")
    with pytest.raises(BenchError, match="no column 'image'; its columns: path, label"):
        get_loader("csv").load(FakeTask("x", tuple(CLASSES)), "test", tmp_path)
