"""Suites registry, few-shot sampling, probe folds, and `bench run`'s bad-input rules."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from eval_fixtures import _one_thread, error_lines, run_cli, save_tiny  # noqa: F401

from bench.errors import UnknownNameError
from bench.features import SplitFeatures
from bench.protocols.few_shot import mean_std, sample_per_class
from bench.settings import Settings
from bench.suites import SUITES, leaf_suites, suite_names
from bench.suites.linear_probe import run_linear_probe


def test_suites_are_a_registry_of_task_lists_and_settings():
    leaves = [name for name in suite_names() if SUITES.get(name).runner is not None]
    assert suite_names()[-1] == "all" and set(suite_names()) == set(SUITES.names())
    in_all = [name for name in leaves if SUITES.get(name).in_all]
    assert [s.name for s in leaf_suites(SUITES.get("all"))] == in_all
    assert set(leaves) - set(in_all) == {"bias"}  # run only when asked for (README)
    assert {"zero-shot", "linear-probe", "few-shot", "robustness"} <= set(leaves)
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


def blobs(n_per_class: int, seed: int, classes: int = 4, dim: int = 8) -> SplitFeatures:
    """Separable synthetic features (probe features 8-d, embedding 3-d) of ``classes`` classes."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(classes, dim)) * 2
    y = np.repeat(np.arange(classes), n_per_class)
    x = torch.as_tensor(centres[y] + rng.normal(size=(len(y), dim)), dtype=torch.float32)
    return SplitFeatures(x[:, :3].clone(), x, torch.as_tensor(y))


@dataclass
class _FoldTask:
    name: str = "folds"
    version: int = 1
    config_hash: str = "0" * 64
    metric: str = "accuracy"
    probe_folds: int = 2


class _Record(dict):
    """A result stand-in: a dict whose keys read as attributes too."""

    __getattr__ = dict.__getitem__


@dataclass
class FakeCtx:
    """A stand-in for RunContext that serves synthetic features per (split, fold)."""

    sizes: dict = field(default_factory=lambda: {"train": 15, "val": 5, "test": 20})
    settings: Settings = field(default_factory=lambda: Settings.build(device="cpu"))
    written: list = field(default_factory=list)
    asked: list = field(default_factory=list)

    def done(self, task: Any, suite: str, shots=None, seed=None):
        return None

    def features(self, task: Any, split: str, fold: int | None = None) -> SplitFeatures:
        self.asked.append((split, fold))
        seed = {"train": 0, "val": 1, "test": 2}[split] + 10 * (fold or 0)
        return blobs(self.sizes[split], seed)

    def check(self, x, what, task, split) -> None:
        assert torch.isfinite(torch.as_tensor(x)).all(), (what, split)

    def probe_info(self) -> dict:
        return {"features": "pre-projection", "dim": 8}

    def new_result(self, task: Any, suite: str, **fields: Any) -> dict:
        return _Record(suite=suite, **fields)

    def write(self, result: dict) -> None:
        self.written.append(result)


def test_linear_probe_averages_over_predefined_folds():
    ctx = FakeCtx()
    run_linear_probe(ctx, [_FoldTask()], SUITES.get("linear-probe"))
    assert ("train", 0) in ctx.asked and ("train", 1) in ctx.asked and ("test", None) in ctx.asked
    [r] = ctx.written
    folds = r["probe"]["folds"]
    assert [f["fold"] for f in folds] == [0, 1]
    assert r["value"] == pytest.approx(np.mean([f["value"] for f in folds]))
    assert r["probe"]["features"] == "pre-projection" and r["probe"]["dim"] == 8


# --- bad input: one line, the valid choices, exit 2 ---------------------------------------


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return save_tiny(tmp_path / "tiny.pt")


def _run(*args: str) -> tuple[int, str, str]:
    return run_cli("run", "--workers", "0", "--quiet", *args)


def _one_line(code: int, err: str) -> str:
    assert code == 2
    lines = error_lines(err)
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
    code, _, err = _run(
        "--model", "ViT-B/32", "--weights", str(ckpt), "--suite", "zero-shot", "--tasks", "digits"
    )  # a task with data (digits is embedded): only then is the model loaded
    line = _one_line(code, err)  # read into ViT-B/32's architecture, which they do not fit
    assert "does not fit ViT-B/32" in line and "--weights" in line


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


# --- protocol steps through the runner ------------------------------------------------------


def _wide_vit():
    """A tiny ViT whose vision width (128) differs from its embedding width (64)."""
    from bench.models import CLIP, get_config

    torch.manual_seed(0)
    return CLIP(dataclasses.replace(get_config("tiny-vit"), vision_width=128)).eval()


def test_probe_gets_pre_projection_features_of_the_vision_width(tmp_path: Path, monkeypatch):
    from bench.models.seam import ClipModel
    from bench.probe import LinearProbe
    from bench.results import read_result
    from bench.suites import run_suite
    from bench.tasks import get_task

    seen = []
    real = LinearProbe.fit
    monkeypatch.setattr(
        LinearProbe, "fit", lambda self, X, y, *a, **k: seen.append(X) or real(self, X, y, *a, **k)
    )
    model = _wide_vit()
    run_suite(
        model, "linear-probe", tasks=["digits"], out=tmp_path, model_name="wide",
        device="cpu", workers=0, progress=False,
    )  # fmt: skip
    x = torch.as_tensor(np.asarray(seen[-1]))
    assert x.shape == (1080 + 120, 128)
    # the probe's rows are the class tokens before the projection: times proj, the embedding
    seam = ClipModel(model, "wide")
    train = get_task("digits").dataset("train")
    images = torch.stack([seam.preprocess(train[i][0]) for i in range(16)])
    with torch.no_grad():
        embedding = model.encode_image(images)
    torch.testing.assert_close(x[:16] @ model.visual.proj.detach(), embedding, rtol=1e-4, atol=1e-4)
    r = read_result(tmp_path / "wide" / "digits" / "linear-probe.json")
    assert r.probe["features"] == "pre-projection" and r.probe["dim"] == 128
    assert r.probe["refit"] == "train+val" and r.split_sizes == {
        "train": 1080,
        "val": 120,
        "test": 597,
    }


def _fer_texts(monkeypatch) -> list[str]:
    from bench.models.seam import ClipModel

    texts: list[str] = []
    real = ClipModel.tokenize
    monkeypatch.setattr(ClipModel, "tokenize", lambda self, t: texts.extend(t) or real(self, t))
    return texts


def _expected_fer_prompts() -> set[str]:
    from bench.tasks import get_task

    fer = get_task("fer2013")
    multi = [names for names in fer.class_prompts if len(names) > 1]
    assert multi, "fer2013 has classes with several names"
    return {t.replace("{}", n) for names in multi for n in names for t in fer.templates}


def test_class_synonyms_reach_the_classifier_through_bench_run(ckpt, tmp_path, monkeypatch):
    from _datasets_fixtures import BUILDERS

    BUILDERS["fer2013"](tmp_path / "data")
    texts = _fer_texts(monkeypatch)
    code, _, err = _run(
        "--model", str(ckpt), "--suite", "zero-shot", "--tasks", "fer2013", "--allow-partial",
        "--data-root", str(tmp_path / "data"), "--out", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 0, err
    assert _expected_fer_prompts() <= set(texts)


def test_class_synonyms_reach_the_training_evaluation(tmp_path, monkeypatch):
    from _datasets_fixtures import BUILDERS
    from eval_fixtures import tiny_model

    from bench.train.evaluate import zero_shot_eval

    BUILDERS["fer2013"](tmp_path / "data")
    texts = _fer_texts(monkeypatch)
    out = zero_shot_eval(tiny_model(), "fer2013", data_root=str(tmp_path / "data"))
    assert out["n"] == 1 and _expected_fer_prompts() <= set(texts)
