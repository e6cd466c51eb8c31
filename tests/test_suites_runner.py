"""The runner checks each task's data before the model is loaded (issue 9, point 7): a task
without data fails with its loader's one-line reason, and a run where no task has data never
loads, hence never downloads, the weights."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

import bench.models
from bench.errors import BenchError
from bench.settings import Settings
from bench.suites import run_suite
from bench.suites.context import ModelLoadError


@dataclass
class _DownloadingHandle:
    """A resolved model whose sha256 is known only after a download (open_clip pretrained),
    and whose ``load`` (the download) records that it was called, then fails."""

    calls: list[str] = field(default_factory=list)
    name: str = "open_clip:ViT-B-32/laion2b_s34b_b79k"
    slug: str = "open_clip-ViT-B-32-laion2b_s34b_b79k"
    family: str = "open_clip"
    weights_sha256: str | None = None
    assumptions: tuple[str, ...] = ()

    def load(self, device, precision):
        self.calls.append("load")
        raise BenchError("the test's weights must never be downloaded")


@pytest.fixture
def handle(monkeypatch) -> _DownloadingHandle:
    fake = _DownloadingHandle()
    monkeypatch.setattr(bench.models, "resolve", lambda name, weights=None: fake)
    return fake


def _settings(tmp_path: Path) -> Settings:
    (tmp_path / "data").mkdir()
    return Settings.build(device="cpu", workers=0, data_root=tmp_path / "data", progress=False)


def test_no_task_with_data_never_loads_the_weights(handle, tmp_path: Path):
    out = tmp_path / "results"
    summary = run_suite(
        handle.name, "all", ["cifar10", "imagenet"], out, settings=_settings(tmp_path)
    )
    assert handle.calls == []
    assert not out.exists()  # nothing written
    failed = {(suite, task): why for suite, task, why in summary.failed}
    assert {t for _, t in failed} == {"cifar10", "imagenet"}
    why = failed[("zero-shot", "cifar10")]
    assert why.startswith("cifar10: data not found at ") and "`bench download cifar10`" in why
    assert "\n" not in why
    assert "get it by hand: ImageNet needs an account" in failed[("zero-shot", "imagenet")]
    # every leaf suite reports its own failure (as when the suite itself met the missing data)
    assert {s for s, t in failed if t == "cifar10"} == {"zero-shot", "linear-probe", "few-shot"}


def test_a_task_with_data_loads_the_weights(handle, tmp_path: Path):
    """The check does not stop a run that has something to evaluate (digits is embedded)."""
    with pytest.raises(ModelLoadError, match="must never be downloaded"):
        run_suite(handle.name, "zero-shot", ["cifar10", "digits"], tmp_path / "results",
                  settings=_settings(tmp_path))  # fmt: skip
    assert handle.calls == ["load"]


def test_a_task_with_results_but_no_data_is_left_to_the_suite(handle, tmp_path: Path):
    """Results already written for a task whose data is gone: the suite skips them as before,
    so the task is not reported failed before the model is loaded."""
    done = tmp_path / "results" / handle.slug / "cifar10" / "zero-shot.json"
    done.parent.mkdir(parents=True)
    done.write_text("{}")
    with pytest.raises(ModelLoadError):
        run_suite(handle.name, "zero-shot", ["cifar10"], tmp_path / "results",
                  settings=_settings(tmp_path))  # fmt: skip
    assert handle.calls == ["load"]
