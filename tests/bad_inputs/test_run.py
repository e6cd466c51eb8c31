"""Bad inputs to ``bench run``: empty task lists, results folders of other models, and runs in
which one task fails while the others still run."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import torch
from _datasets_fixtures import BUILDERS
from eval_fixtures import save_tiny, tiny_model

from bench.results import Result, read_result, write_result

from .conftest import error_lines, run_cli, snapshot


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_tiny(tmp_path / "tiny.pt")


def _run(ckpt: Path, out: Path, *args: str, process: bool = False):
    return run_cli(
        "run", "--model", str(ckpt), "--suite", "zero-shot", "--out", str(out),
        "--workers", "0", "--quiet", *args, process=process,
    )  # fmt: skip


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_empty_task_list_is_an_error_naming_it(ckpt: Path, tmp_path: Path, value: str):
    # one of them in a fresh `python -m bench` process, as a shell would run it
    run = _run(ckpt, tmp_path / "r", "--tasks", value, process=value == "")
    run.assert_one_line_error(f"--tasks {value!r}", "bench tasks")
    assert not (tmp_path / "r").exists()


def _plant(out: Path, model: str, slug: str, sha: str) -> Path:
    """A valid zero-shot result of another model under ``out/slug``."""
    r = Result(
        model=model, model_slug=slug, weights_sha256=sha, task="digits", task_version=1,
        task_config_hash="0" * 64, suite="zero-shot", metric="accuracy", value=50.0,
    )  # fmt: skip
    return write_result(r, out)


def test_folder_of_other_weights_proposes_a_name_that_runs(ckpt: Path, tmp_path: Path):
    out = tmp_path / "r"
    _plant(out, "tiny", "tiny", "f" * 64)
    before = snapshot(out)
    run = _run(ckpt, out, "--tasks", "digits", "--force")
    run.assert_one_line_error(str(out / "tiny"), "ffffffffffff", "--name")
    line = run.stderr.strip()
    assert "pass --force" not in line and snapshot(out) == before
    command = shlex.split(line.split("evaluate it under its own name: ", 1)[1])
    assert command[:2] == ["bench", "run"] and "--name" in command
    again = run_cli(*command[1:])
    assert again.returncode == 0, again.stderr
    name = command[command.index("--name") + 1]
    assert read_result(out / name / "digits" / "zero-shot.json").model == name
    assert snapshot(out / "tiny") == {k[len("tiny/") :]: v for k, v in before.items()}


def test_two_model_names_may_not_share_a_results_folder(ckpt: Path, tmp_path: Path):
    out = tmp_path / "r"
    _plant(out, "team/tiny", "team-tiny", "f" * 64)
    before = snapshot(out)
    run = _run(ckpt, out, "--tasks", "digits", "--name", "team-tiny")
    run.assert_one_line_error("'team-tiny'", "'team/tiny'", "--name")
    assert snapshot(out) == before


def test_one_failing_task_does_not_stop_the_others(ckpt: Path, tmp_path: Path):
    """A corrupt result file (digits) and missing data (cifar10): fer2013 still runs, exit 2,
    and the summary lists each failure with its reason."""
    out, data = tmp_path / "r", tmp_path / "data"
    BUILDERS["fer2013"](data)
    bad = out / "tiny" / "digits" / "zero-shot.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    run = _run(
        ckpt, out, "--tasks", "digits,cifar10,fer2013", "--allow-partial", "--data-root", str(data)
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    lines = error_lines(run.stderr)
    assert len(lines) == 2, run.stderr
    assert "digits" in lines[0] and "cannot be read as JSON" in lines[0]
    assert "cifar10" in lines[1] and "bench download cifar10" in lines[1]
    assert bad.read_text() == "{not json"
    assert read_result(out / "tiny" / "fer2013" / "zero-shot.json").partial


def test_nan_in_the_text_tower_fails_the_task_naming_where(tmp_path: Path):
    model = tiny_model()
    with torch.no_grad():
        model.ln_final.weight[:3] = float("nan")
    ckpt = tmp_path / "nan.pt"
    torch.save(model.state_dict(), ckpt)
    run = _run(ckpt, tmp_path / "r", "--tasks", "digits")
    run.assert_one_line_error("'nan'", "'digits'", "'test'", "zero-shot classifier weight", "NaN")
    assert not (tmp_path / "r" / "nan" / "digits").exists()
