"""A small results folder in the exact on-disk format of :mod:`bench.results`.

:func:`make_results` writes it with :func:`bench.results.write_result`; the numbers are chosen by
hand (the robustness ones are the testbed's own rows for its CLIP zero-shot models) and the
folder has deliberate gaps: ``tiny-vit`` lacks cifar100 zero-shot and most shifts.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench import robustness
from bench.results import Result, model_slug, write_result

ZERO_SHOT = {
    "ViT-B/32": {"imagenet": 63.3, "cifar10": 89.8, "cifar100": 65.1},
    "tiny-vit": {"imagenet": 1.2, "cifar10": 31.0},
}
LINEAR_PROBE = {
    "ViT-B/32": {"cifar10": 95.1, "cifar100": 80.5},
    "tiny-vit": {"cifar10": 40.0, "cifar100": 12.5},
}
FEW_SHOT = {  # model -> task -> shots -> per-seed values
    "ViT-B/32": {
        "cifar10": {1: [60.0, 64.0], 2: [75.0, 77.0], 4: [85.0, 87.0]},
        "cifar100": {1: [30.0, 32.0], 2: [45.0, 47.0]},
    },
}
TESTBED_ROW = {"ViT-B/32": "vit_b_32_clip_zeroshot", "tiny-vit": "resnet50_clip_zeroshot"}
TINY_SHIFTS = ("imagenetv2", "imagenet_r")


def _result(model: str, task: str, suite: str, value: float, **kw) -> Result:
    return Result(
        model=model,
        model_slug=model_slug(model),
        weights_sha256="0" * 64,
        task=task,
        task_version=1,
        task_config_hash="f" * 64,
        suite=suite,
        metric="pm0_pm10" if task in ("imagenet_vid", "ytbb") else "accuracy",
        value=float(value),
        top1=float(value),
        git_commit="0123456789abcdef",
        created="2024-01-01T00:00:00+00:00",
        **kw,
    )


def _shift_results(model: str) -> list[Result]:
    row = robustness.testbed().loc[TESTBED_ROW[model]]
    shifts = robustness.SHIFTS if model == "ViT-B/32" else TINY_SHIFTS
    out = [_result(model, "imagenet", "robustness", row["val"], metrics={})]
    for shift in shifts:
        spec = robustness.get_spec(shift)
        parts = {"imagenet_subsampled": float(row[spec.x_column])}
        if shift in ("imagenet_vid", "ytbb"):
            parts["pm0"] = float(row[spec.y_column])
            parts["pm10"] = float(row[spec.y_column.replace("pm0", "pm10")])
        out.append(_result(model, shift, "robustness", row[spec.y_column], metrics=parts))
    if model == "ViT-B/32":  # "adapt to ImageNet" on two shifts: higher x, lower y
        for shift in ("imagenetv2", "imagenet_r"):
            spec = robustness.get_spec(shift)
            parts = {"imagenet_subsampled": float(row[spec.x_column]) + 10}
            out.append(
                _result(model, shift, "robustness-adapt", row[spec.y_column] - 5, metrics=parts)
            )
    return out


def all_results() -> list[Result]:
    """Every result of the fixture folder."""
    out = []
    for model, tasks in ZERO_SHOT.items():
        out += [_result(model, t, "zero-shot", v) for t, v in tasks.items()]
    for model, tasks in LINEAR_PROBE.items():
        out += [_result(model, t, "linear-probe", v) for t, v in tasks.items()]
    for model, tasks in FEW_SHOT.items():
        for task, by_shots in tasks.items():
            for k, values in by_shots.items():
                out += [
                    _result(model, task, "few-shot", v, shots=k, seed=s)
                    for s, v in enumerate(values)
                ]
    for model in TESTBED_ROW:
        out += _shift_results(model)
    return out


def make_results(root: str | Path) -> Path:
    """Writes the fixture folder under ``root``; returns ``root``."""
    root = Path(root)
    for r in all_results():
        write_result(r, root)
    return root


def write_future_schema(root: str | Path) -> Path:
    """Adds one file of a schema version newer than this bench's (read as a per-file problem)."""
    path = Path(root) / "future-model" / "cifar10" / "zero-shot.json"
    d = _result("future-model", "cifar10", "zero-shot", 50.0).to_dict()
    d["schema_version"] = 99
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


# Zero-shot per prompt mode (the ablation): written beside zero-shot.json by write_prompt_modes.
PROMPT_MODES = {  # model -> mode -> task -> value
    "ViT-B/32": {
        "single": {"imagenet": 59.0, "cifar10": 88.9, "cifar100": 63.0},
        "classname": {"imagenet": 55.5, "cifar10": 86.0, "cifar100": 58.2},
    },
    "tiny-vit": {"single": {"imagenet": 1.5, "cifar10": 28.0}},
}
PROMPTS = {
    "single": ["a photo of a {}."],
    "classname": ["{}"],
    "ensemble": ["a photo of a {}.", "a blurry photo of a {}."],
}


def prompt_mode_result(model: str, task: str, mode: str, value: float) -> Result:
    """A zero-shot result of one prompt mode, its ``prompts`` section as the convention says."""
    prompts = {"classnames": ["a", "b"], "templates": PROMPTS[mode], "mode": mode}
    variant = None if mode == "ensemble" else mode  # the file-name part (schema 3)
    return _result(model, task, "zero-shot", value, prompts=prompts, variant=variant)


def write_result_as(result: Result, root: str | Path, name: str) -> Path:
    """Writes ``result`` as ``<root>/<slug>/<task>/<name>.json`` (any file name)."""
    path = Path(root) / result.model_slug / result.task / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def write_prompt_modes(root: str | Path) -> Path:
    """Adds ``zero-shot-single.json`` / ``zero-shot-classname.json`` files (:data:`PROMPT_MODES`)."""
    for model, modes in PROMPT_MODES.items():
        for mode, tasks in modes.items():
            for task, value in tasks.items():
                r = prompt_mode_result(model, task, mode, value)
                write_result_as(r, root, f"zero-shot-{mode}")
    return Path(root)
