"""Suites registry, few-shot sampling, probe folds, and `bench run`'s bad-input rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from eval_fixtures import _one_thread, run_cli, save_tiny, split_features  # noqa: F401

from bench.errors import UnknownNameError
from bench.features import SplitFeatures
from bench.fewshot import mean_std, sample_per_class
from bench.linear_probe_suite import fit_and_score, run_linear_probe
from bench.suites import SUITES, leaf_suites


def test_suites_are_a_registry_of_task_lists_and_settings():
    assert SUITES.names() == ["zero-shot", "linear-probe", "few-shot", "robustness", "all"]
    assert [s.name for s in leaf_suites(SUITES.get("all"))] == SUITES.names()[:4]
    few = SUITES.get("few-shot")
    assert tuple(few.settings["shots"]) == (1, 2, 4, 8, 16) and len(few.settings["seeds"]) >= 3
    with pytest.raises(UnknownNameError, match="did you mean 'zero-shot'"):
        SUITES.get("zeroshot")


def test_sample_per_class_is_seeded_and_balanced():
    labels = torch.as_tensor(np.repeat(np.arange(5), 20))
    a = sample_per_class(labels, 4, seed=0)
    assert np.array_equal(np.bincount(labels[a].numpy()), [4] * 5)
    assert np.array_equal(a, sample_per_class(labels, 4, seed=0))
    assert not np.array_equal(a, sample_per_class(labels, 4, seed=1))
    assert not np.array_equal(a, sample_per_class(labels, 4, seed=0, salt=1))
    few = torch.as_tensor([0, 0, 1, 1, 1, 1, 1])
    assert np.array_equal(np.bincount(few[sample_per_class(few, 3, 0)].numpy()), [2, 3])


def test_sample_per_class_multilabel_covers_each_class():
    rng = np.random.default_rng(0)
    y = (rng.random((100, 6)) < 0.3).astype(np.int64)
    idx = sample_per_class(torch.as_tensor(y), 2, seed=3)
    assert (y[idx].sum(0) >= 2).all() and len(set(idx.tolist())) == len(idx)


def test_mean_std():
    assert mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    assert mean_std([5.0]) == (5.0, 0.0)


def _blobs(n_per_class: int, seed: int, classes: int = 4, dim: int = 8) -> SplitFeatures:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(classes, dim)) * 2
    y = np.repeat(np.arange(classes), n_per_class)
    x = centres[y] + rng.normal(size=(len(y), dim))
    return split_features(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y))


def test_fit_and_score_uses_train_val_then_test():
    out = fit_and_score(_blobs(30, 0), _blobs(10, 1), _blobs(20, 2), "accuracy", device="cpu")
    assert out.scores.value > 70 and out.C in [c for c, _ in out.search]
    best = max(s for _, s in out.search)
    assert dict(map(tuple, out.search))[out.C] == best


def test_fit_and_score_multilabel_uses_map():
    rng = np.random.default_rng(0)

    def split(n: int) -> SplitFeatures:
        y = (rng.random((n, 5)) < 0.3).astype(np.int64)
        x = y @ (3 * np.eye(5, 8)) + rng.normal(size=(n, 8))
        return split_features(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y))

    out = fit_and_score(split(150), split(50), split(100), "map_11point", device="cpu")
    assert 60 < out.scores.value <= 100 and "top1" not in out.scores.parts


@dataclass
class _FoldTask:
    name: str = "folds"
    version: int = 1
    config_hash: str = "0" * 64
    metric: str = "accuracy"
    probe_folds: int = 2


@dataclass
class _Ctx:
    """A stand-in for RunContext that serves synthetic features per fold."""

    device: str = "cpu"
    written: list = field(default_factory=list)
    asked: list = field(default_factory=list)

    def done(self, task: Any, suite: str, shots=None, seed=None):
        return None

    def features(self, task: Any, split: str, fold: int | None = None) -> SplitFeatures:
        self.asked.append((split, fold))
        seed = {"train": 0, "val": 1, "test": 2}[split] + 10 * (fold or 0)
        return _blobs({"train": 15, "val": 5, "test": 20}[split], seed)

    def new_result(self, task: Any, suite: str, **fields: Any) -> dict:
        return {"suite": suite, **fields}

    def write(self, result: dict) -> None:
        self.written.append(result)


def test_linear_probe_averages_over_predefined_folds():
    ctx = _Ctx()
    run_linear_probe(ctx, [_FoldTask()], SUITES.get("linear-probe"))
    assert ("train", 0) in ctx.asked and ("train", 1) in ctx.asked and ("test", None) in ctx.asked
    [r] = ctx.written
    folds = r["probe"]["folds"]
    assert [f["fold"] for f in folds] == [0, 1]
    assert r["value"] == pytest.approx(np.mean([f["value"] for f in folds]))


# --- bad input: one line, the valid choices, exit 2 ---------------------------------------


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_tiny(tmp_path / "tiny.pt")


def _run(*args: str) -> tuple[int, str, str]:
    return run_cli("run", "--workers", "0", "--quiet", *args)


def _one_line(code: int, err: str) -> str:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_suite(ckpt: Path, tmp_path: Path):
    line = _one_line(
        *_run("--model", str(ckpt), "--suite", "zero_shot", "--out", str(tmp_path))[::2]
    )
    assert "unknown suite 'zero_shot'" in line and "zero-shot" in line


def test_unknown_suite_lists_valid_choices(ckpt: Path, tmp_path: Path):
    line = _one_line(*_run("--model", str(ckpt), "--suite", "qqq", "--out", str(tmp_path))[::2])
    assert "valid choices" in line
    for name in SUITES.names():
        assert name in line


def test_unknown_model(tmp_path: Path):
    code, _, err = _run("--model", "ViT-B/33", "--suite", "zero-shot", "--tasks", "digits")
    line = _one_line(code, err)
    assert "unknown model 'ViT-B/33'" in line and "ViT-B/32" in line and "bench models" in line


def test_missing_checkpoint_file(tmp_path: Path):
    code, _, err = _run("--model", str(tmp_path / "nope.pt"), "--suite", "zero-shot")
    line = _one_line(code, err)
    assert "nope.pt" in line and "no such checkpoint file" in line


def test_weights_that_are_not_the_named_models(ckpt: Path):
    code, _, err = _run("--model", "ViT-B/32", "--weights", str(ckpt), "--suite", "zero-shot")
    line = _one_line(code, err)
    assert "not the official ViT-B/32's" in line and "--model my-name" in line


def test_unknown_task(ckpt: Path):
    code, _, err = _run("--model", str(ckpt), "--suite", "zero-shot", "--tasks", "digit")
    line = _one_line(code, err)
    assert "unknown task 'digit'" in line and "digits" in line and "bench tasks" in line


def test_unknown_tag(ckpt: Path):
    code, _, err = _run("--model", str(ckpt), "--suite", "zero-shot", "--tag", "paper28")
    assert "paper27" in _one_line(code, err)


def test_shifts_are_not_zero_shot_tasks(ckpt: Path, tmp_path: Path):
    code, _, err = _run(
        "--model",
        str(ckpt),
        "--suite",
        "zero-shot",
        "--tasks",
        "imagenet_r",
        "--out",
        str(tmp_path),
    )
    assert "--suite robustness" in _one_line(code, err)


def test_task_the_suite_cannot_run(ckpt: Path, tmp_path: Path):
    code, _, err = _run(
        "--model", str(ckpt), "--suite", "robustness", "--tasks", "digits", "--out", str(tmp_path)
    )
    line = _one_line(code, err)
    assert "suite 'robustness' cannot run task(s) digits" in line and "ImageNet" in line


@pytest.mark.parametrize(
    "flag, value, expect",
    [("--precision", "fp8", "fp32, fp16, bf16"), ("--device", "tpu9", "cpu, cuda")],
)
def test_bad_precision_or_device(ckpt: Path, flag: str, value: str, expect: str):
    code, _, err = _run(
        "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "digits", flag, value
    )
    assert expect in _one_line(code, err)


def test_missing_data_names_the_task_and_the_fix(ckpt: Path, tmp_path: Path):
    code, out, err = _run(
        "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "cifar10", "--out", str(tmp_path)
    )
    assert code == 2
    line = _one_line(code, err)
    assert "cifar10" in line and "bench download cifar10" in line


def test_tasks_and_tag_are_exclusive(ckpt: Path, capsys: pytest.CaptureFixture):
    from bench.cli import main

    with pytest.raises(SystemExit) as info:
        main(["run", "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "x", "--tag", "y"])
    assert info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_help_has_examples():
    import contextlib
    import io

    from bench.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "examples:" in buf.getvalue() and "--skip-corrupt" in buf.getvalue()


def test_robustness_suite_writes_each_head_and_skips_when_done(
    ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The runner's side of the robustness hook (the hook itself is tested with its module)."""
    from bench import robustness_suite
    from bench.results import read_result
    from bench.suites import run_suite

    calls = []

    def fake_hook(model, features, *, tasks, data_root, device, progress):
        calls.append(list(tasks))
        assert callable(features) and model is not None
        return [
            robustness_suite.ShiftOutcome(
                task=t,
                head=h,
                metric="accuracy",
                value=40.0 + i,
                metrics={"top1": 40.0 + i, "top5": 70.0, "imagenet_subsampled": 60.0},
                n=50,
            )  # fmt: skip
            for i, (t, h) in enumerate(
                [(t, h) for h in robustness_suite.HEADS for t in ("imagenet", "imagenet_r")]
            )
        ]

    monkeypatch.setattr(robustness_suite, "run_robustness", fake_hook)
    out = tmp_path / "results"
    summary = run_suite(
        str(ckpt), "robustness", tasks=["imagenet", "imagenet_r"], out=out, device="cpu",
        progress=False,
    )  # fmt: skip
    assert calls == [["imagenet", "imagenet_r"]] and len(summary.written) == 4
    r = read_result(out / "tiny" / "imagenet_r" / "robustness-adapt.json")
    assert r.suite == "robustness-adapt" and r.value == 43.0 and r.top5 == 70.0
    assert r.metrics["imagenet_subsampled"] == 60.0 and r.split_sizes == {"test": 50}
    again = run_suite(
        str(ckpt), "robustness", tasks=["imagenet", "imagenet_r"], out=out, progress=False
    )
    assert len(calls) == 1 and again.written == [] and len(again.skipped) == 4


@pytest.mark.gpu
def test_gpu_extraction_matches_cpu():
    from eval_fixtures import tiny_eval_model

    from bench.features import extract
    from bench.settings import Settings
    from bench.tasks import get_task

    task = get_task("digits")
    opts = dict(workers=0, refresh_features=True, progress=False)
    cpu = extract(tiny_eval_model(), task, "val", Settings.build(device="cpu", **opts))
    for precision in ("fp32", "fp16", "bf16"):
        settings = Settings.build(device="cuda", precision=precision, **opts)
        gpu = extract(tiny_eval_model(), task, "val", settings)
        tol = 1e-4 if precision == "fp32" else 5e-2
        torch.testing.assert_close(gpu.embedding, cpu.embedding, rtol=tol, atol=tol)
        torch.testing.assert_close(gpu.probe, cpu.probe, rtol=tol, atol=tol)
