"""Zero-shot prompt modes (issue 12, point 3) and the interval in every zero-shot result
(point 2), against computations from the model's own encoders written out here."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from eval_fixtures import _one_thread, tiny_model  # noqa: F401
from scipy.stats import beta

from bench.models import ClipModel
from bench.protocols.zero_shot import PROMPT_MODES
from bench.report.collect import ZERO_SHOT_SUITES
from bench.results import PROMPT_VARIANTS, read_result
from bench.settings import Settings
from bench.suites import run_suite
from bench.suites.context import ModelSpec, RunContext
from bench.tasks import get_task

EXPECTED_TEMPLATES = {"single": ["a photo of a {}."], "classname": ["{}"]}


def _by_hand_accuracy(model: ClipModel, templates: list[str]) -> tuple[int, int]:
    """Right answers and items of zero-shot on digits test, encoded here image by image."""
    task = get_task("digits")
    test = task.dataset("test")
    with torch.no_grad():
        classes = []
        for name in task.classnames:
            e = model.encode_text(model.tokenize([t.replace("{}", name) for t in templates]))
            e = e / e.norm(dim=1, keepdim=True)
            classes.append(e.mean(0) / e.mean(0).norm())
        weights = torch.stack(classes)
        images = torch.stack([model.preprocess(test[i][0]) for i in range(len(test))])
        emb = model.encode_image(images)
        pred = (emb / emb.norm(dim=1, keepdim=True) @ weights.T).argmax(1)
    right = int((pred == torch.as_tensor(test.labels)).sum())
    return right, len(test)


def test_the_modes_are_one_list_everywhere():
    assert set(PROMPT_MODES) == set(ZERO_SHOT_SUITES)
    assert set(PROMPT_VARIANTS) == set(PROMPT_MODES) - {"ensemble"}


@pytest.mark.parametrize("mode", ["single", "classname", "ensemble"])
def test_each_prompt_mode_writes_its_own_file_with_its_prompts(tmp_path: Path, mode):
    model = ClipModel(tiny_model(0), "tiny")
    run_suite(model, "zero-shot", tasks=["digits"], out=tmp_path, prompts=mode,
              device="cpu", workers=0, progress=False)  # fmt: skip
    name = "zero-shot.json" if mode == "ensemble" else f"zero-shot-{mode}.json"
    assert [p.name for p in (tmp_path / "tiny" / "digits").iterdir()] == [name]
    r = read_result(tmp_path / "tiny" / "digits" / name)
    templates = EXPECTED_TEMPLATES.get(mode, list(get_task("digits").templates))
    assert r.suite == "zero-shot" and r.prompts["mode"] == mode
    assert r.prompts["templates"] == templates
    k, n = _by_hand_accuracy(model, templates)
    assert r.value == pytest.approx(100 * k / n)
    # the paper's 99.5% Clopper-Pearson interval, from scipy's beta quantiles
    assert r.n == n and r.ci["method"] == "clopper-pearson" and r.ci["level"] == 0.995
    assert r.ci["low"] == pytest.approx(100 * beta.ppf(0.0025, k, n - k + 1))
    assert r.ci["high"] == pytest.approx(100 * beta.ppf(0.9975, k + 1, n - k))


def test_classifier_memo_keys_on_the_prompt_mode(tmp_path: Path):
    model = ClipModel(tiny_model(0), "tiny")
    ctx = RunContext(ModelSpec("tiny", model.weights_sha256, lambda: model),
                     Settings.build(device="cpu", workers=0), tmp_path)  # fmt: skip
    task = get_task("digits")
    single, ensemble = ctx.classifier(task, "single"), ctx.classifier(task)
    assert not torch.allclose(single, ensemble)
    assert ctx.classifier(task, "single") is single  # memoised per (task, mode)
