"""Bad inputs to the retrieval suite, prompt modes and intervals (issue 12): each is one line
naming the bad value and the fix, exit 2, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_fixtures import save_tiny

from .conftest import run_cli


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_tiny(tmp_path / "tiny.pt")


def _run(ckpt: Path, out: Path, *args: str, data: Path | None = None):
    extra = ["--data-root", str(data)] if data is not None else []
    return run_cli(
        "run", "--model", str(ckpt), "--out", str(out), "--workers", "0", "--quiet", *extra,
        *args,
    )  # fmt: skip


def test_unknown_prompt_mode(ckpt: Path, tmp_path: Path):
    run = _run(ckpt, tmp_path / "r", "--suite", "zero-shot", "--tasks", "digits",
               "--prompts", "fancy")  # fmt: skip
    run.assert_one_line_error("--prompts 'fancy'", "ensemble, single, classname")
    assert not (tmp_path / "r").exists()


def test_retrieval_suite_on_a_classification_task(ckpt: Path, tmp_path: Path):
    run = _run(ckpt, tmp_path / "r", "--suite", "retrieval", "--tasks", "digits")
    run.assert_one_line_error("digits", "a retrieval task (kind: retrieval")
    assert not (tmp_path / "r").exists()


def test_retrieval_without_data_names_the_file_and_the_steps(ckpt: Path, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    run = _run(ckpt, tmp_path / "r", "--suite", "retrieval", "--tasks", "flickr30k", data=data)
    run.assert_one_line_error("dataset_flickr30k.json", "caption_datasets.zip")
    assert not list((tmp_path / "r").rglob("*.json"))


def test_a_split_file_that_is_not_karpathys(ckpt: Path, tmp_path: Path):
    root = tmp_path / "data" / "mscoco"
    (root / "val2014").mkdir(parents=True)
    (root / "dataset_coco.json").write_text('{"images": [{"split": "test"}]}')
    run = _run(ckpt, tmp_path / "r", "--suite", "retrieval", "--tasks", "mscoco",
               data=tmp_path / "data")  # fmt: skip
    run.assert_one_line_error("dataset_coco.json", "not a Karpathy caption split file")
    assert not list((tmp_path / "r").rglob("*.json"))


def test_a_user_retrieval_task_with_classes(tmp_path: Path):
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "mine.yaml").write_text(
        "name: mine\ntitle: Mine\nversion: 1\nkind: retrieval\nmetric: retrieval_recall\n"
        "classes: [a, b]\nsplits: {test: 3}\nsource: {loader: karpathy}\ncitation: x\n"
        "licence: x\n"
    )
    run = run_cli("tasks", "mine", "--tasks-dir", str(tasks))
    run.assert_one_line_error("mine.yaml", "a retrieval task has no 'classes'")
