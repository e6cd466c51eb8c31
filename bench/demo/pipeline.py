"""``bench demo``: the whole protocol, offline, on a CPU, in a few minutes.

1. **Data**: synthetic captioned digits (:mod:`bench.train.synthetic`), written as a CSV of
   image paths and captions, the format ``bench train`` reads.
2. **Training**: a tiny CLIP (``tiny-digits`` training config) with :func:`bench.train.loop.train`.
3. **Evaluation**: every suite (:func:`bench.suites.run_suite` with ``all``: zero-shot, linear
   probe, few-shot) on scikit-learn's real digits and on ``digits_shifted``, into
   ``<out>/results/``; then zero-shot with the single prompt and the bare class name (the prompt
   ablation) where the suites support prompt modes.
4. **Robustness**: :mod:`bench.demo.robustness` fits a baseline over small supervised models and
   draws the tiny CLIP against it (the paper's Figure 13 in miniature).
5. **Report**: :func:`bench.report.build_report` writes tables and plots into ``<out>``, and
   ``demo.md`` / ``demo.json`` summarise the run (accuracies, wall times).
"""

from __future__ import annotations

import csv
import inspect
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.demo import robustness as demo_robustness
from bench.io import atomic_write_json, atomic_write_text

DEFAULT_OUT = Path("reports/demo")
MODEL_NAME = "tiny-clip-demo"
EVAL_TASK = "digits"
# Shifted versions of the digits for the robustness view, evaluated when registered.
SHIFTED_TASKS = (demo_robustness.SHIFTED,)
ABLATION_MODES = ("single", "classname")  # besides the default ensemble
GENERATOR_VERSION = 2  # bump when bench.train.synthetic changes what it draws


@dataclass(frozen=True)
class DemoSettings:
    """How big the demo is. The defaults take a few minutes on 2 CPU cores."""

    images: int = 10000  # synthetic training pairs
    steps: int | None = None  # None: the tiny-digits config's
    batch_size: int | None = None  # None: the tiny-digits config's
    seed: int = 0
    suites: str = "all"  # the suite run on the real (and shifted) digits
    workers: int = 1  # training DataLoader workers


QUICK = DemoSettings(images=400, steps=12, batch_size=32, suites="zero-shot", workers=0)


@dataclass
class DemoSummary:
    """What the demo did and reached (percent values), and where it wrote it."""

    out: str
    checkpoint: str
    steps: int
    images: int
    tasks: list[str]
    zero_shot: dict[str, float] = field(default_factory=dict)
    linear_probe: dict[str, float] = field(default_factory=dict)
    few_shot: dict[str, dict[int, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    missing_shift_tasks: list[str] = field(default_factory=list)
    prompt_modes: dict[str, dict[str, float]] = field(default_factory=dict)
    effective_robustness: float | None = None
    baseline_models: int = 0
    robustness_plot: str = ""
    report: str = ""
    machine: str = ""


def write_data(folder: Path, n: int, seed: int) -> Path:
    """Writes ``n`` synthetic pairs as ``images/*.png`` plus ``pairs.csv``; reuses them if a
    previous run wrote the same (``manifest.json``)."""
    from bench.train import synthetic

    manifest = {"generator_version": GENERATOR_VERSION, "images": n, "seed": seed}
    csv_path, manifest_path = folder / "pairs.csv", folder / "manifest.json"
    if manifest_path.exists() and csv_path.exists():
        if json.loads(manifest_path.read_text(encoding="utf-8")) == manifest:
            return csv_path
    images, labels, captions = synthetic.generate(n, seed=seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (image, caption) in enumerate(zip(images, captions, strict=True)):
        rel = f"images/{i:06d}.png"
        image.save(folder / rel)
        rows.append((rel, caption, labels[i]))
    tmp = csv_path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["filepath", "caption", "label"])
        writer.writerows(rows)
    tmp.replace(csv_path)
    atomic_write_json(manifest_path, manifest)
    return csv_path


def available_shift_tasks() -> tuple[list[str], list[str]]:
    """``(registered, missing)`` among :data:`SHIFTED_TASKS`."""
    from bench.tasks import list_tasks

    names = {t.name for t in list_tasks()}
    return ([t for t in SHIFTED_TASKS if t in names], [t for t in SHIFTED_TASKS if t not in names])


def training_threads(settings: DemoSettings) -> int:
    """One core per data worker, the rest for torch: on 2 cores, 2 torch threads plus a worker
    oversubscribe the CPU, and every step then waits for the slowest thread."""
    return max(1, (os.cpu_count() or 1) - settings.workers)


def train_model(data: Path, out: Path, settings: DemoSettings, progress: bool) -> Any:
    """Trains the tiny CLIP on ``data`` into ``out/train``; returns the TrainResult."""
    from bench.train.config import load_config
    from bench.train.loop import train

    overrides: dict[str, Any] = {
        "cpu_threads": training_threads(settings),
        "data": str(data),
        "output_dir": str(out / "train"),
        "seed": settings.seed,
        "workers": settings.workers,
        "device": "cpu",
        "eval_task": EVAL_TASK,
    }
    if settings.steps is not None:
        overrides.update(
            steps=settings.steps,
            checkpoint_every=settings.steps,
            eval_every=0,
            warmup_steps=min(50, max(1, settings.steps // 10)),
        )
    if settings.batch_size is not None:
        overrides["batch_size"] = settings.batch_size
    config = load_config("tiny-digits", overrides)
    return train(config, progress=progress)


def evaluate(checkpoint: Path, out: Path, tasks: list[str], suites: str, progress: bool) -> Any:
    """Runs ``suites`` on ``tasks`` for the checkpoint into ``out/results``."""
    from bench.suites import run_suite

    return run_suite(
        str(checkpoint),
        suites,
        tasks=tasks,
        out=out / "results",
        model_name=MODEL_NAME,
        device="cpu",
        workers=0,
        batch_size=256,
        force=True,
        progress=progress,
    )


def prompt_modes_supported() -> bool:
    """Whether :func:`bench.suites.run_suite` takes ``prompts=`` (ensemble, single, classname)."""
    from bench.suites import run_suite

    return "prompts" in inspect.signature(run_suite).parameters


def evaluate_prompt_modes(checkpoint: Path, out: Path, tasks: list[str], progress: bool) -> bool:
    """Zero-shot with the single prompt and the bare class name, beside the ensemble's results.

    Returns whether they ran (``run_suite`` takes ``prompts=``, as ``bench run --prompts``).
    """
    if not prompt_modes_supported():
        return False
    from bench.suites import run_suite

    for mode in ABLATION_MODES:
        run_suite(
            str(checkpoint), "zero-shot", tasks=tasks, out=out / "results",
            model_name=MODEL_NAME, device="cpu", workers=0, batch_size=256, force=True,
            progress=progress, prompts=mode,
        )  # fmt: skip
    return True


def robustness_view(out: Path, summary: DemoSummary, seed: int) -> None:
    """Fits the supervised baseline and draws the zero-shot CLIP against it (Figure 13)."""
    clean = summary.zero_shot.get(demo_robustness.CLEAN)
    shifted = summary.zero_shot.get(demo_robustness.SHIFTED)
    if clean is None or shifted is None:
        return
    points = demo_robustness.baseline_points(seed)
    clip = {"tiny CLIP, zero-shot": (clean, shifted)}
    paths = demo_robustness.plot(points, clip, out / "plots" / "demo-effective-robustness", seed)
    summary.effective_robustness = round(
        demo_robustness.effective_robustness(points, clean, shifted), 2
    )
    summary.baseline_models = len(points)
    summary.robustness_plot = paths[0].relative_to(out).as_posix()
    atomic_write_json(out / "robustness" / "baseline.json", demo_robustness.as_dicts(points))


def collect_numbers(results_dir: Path, summary: DemoSummary) -> None:
    """Fills the summary's accuracies from the result files."""
    from bench.results import load_results

    for _, r in load_results(results_dir).results:
        if r.suite == "zero-shot":
            summary.zero_shot[r.task] = round(r.value, 2)
        elif r.suite == "linear-probe":
            summary.linear_probe[r.task] = round(r.value, 2)
        elif r.suite == "few-shot" and r.seed is None and r.shots is not None:
            summary.few_shot.setdefault(r.task, {})[r.shots] = round(r.value, 2)
        if r.suite == "zero-shot":
            mode = (r.prompts or {}).get("mode", "ensemble")
            summary.prompt_modes.setdefault(mode, {})[r.task] = round(r.value, 2)
    if set(summary.prompt_modes) == {"ensemble"}:
        summary.prompt_modes = {}
    ensemble = summary.prompt_modes.get("ensemble", summary.zero_shot)
    summary.zero_shot = dict(ensemble)


def _markdown(s: DemoSummary) -> str:
    lines = [
        "# bench demo",
        "",
        f"A tiny CLIP trained for {s.steps} steps on {s.images} synthetic captioned digit images "
        "(drawn in code with fonts and pen strokes, never the test images), then evaluated on "
        "scikit-learn's real handwritten digits and on `digits_shifted` (the same test images "
        "rotated and noised). Chance is 10%. Every view of a real run, in miniature:",
        "",
        "| task | zero-shot | linear probe |",
        "|---|---|---|",
    ]
    for task in s.tasks:
        zs, lp = s.zero_shot.get(task), s.linear_probe.get(task)
        lines.append(f"| {task} | {_pct(zs)} | {_pct(lp)} |")
    for task, curve in s.few_shot.items():
        points = ", ".join(f"{k}: {_pct(v)}" for k, v in sorted(curve.items()))
        lines += ["", f"Few-shot on {task} (shots per class: accuracy): {points}."]
    lines += ["", *_ablation_lines(s), "", *_robustness_lines(s)]
    if s.missing_shift_tasks:
        lines += ["", f"Not registered, so not scored: {', '.join(s.missing_shift_tasks)}."]
    times = ", ".join(f"{k} {v:.0f} s" for k, v in s.seconds.items())
    lines += [
        "",
        f"Wall time: {times} ({s.machine}).",
        "",
        f"Tables and plots (zero-shot, linear probe, few-shot curves, zero-shot vs linear probe"
        f"{', prompt ablation' if s.prompt_modes else ''}): [index.md]({s.report}). "
        f"Checkpoint: `{s.checkpoint}` (`bench run --model <it>` evaluates it again).",
    ]
    return "\n".join(lines) + "\n"


def _ablation_lines(s: DemoSummary) -> list[str]:
    if not s.prompt_modes:
        return [
            "Prompt ablation: not run (this bench's suites take no prompt mode yet; "
            "`bench run --prompts single|classname` adds it)."
        ]
    lines = ["Prompt ablation (zero-shot):", "", "| task | " + " | ".join(s.prompt_modes) + " |"]
    lines.append("|---|" + "---|" * len(s.prompt_modes))
    for task in s.tasks:
        lines.append(
            f"| {task} | " + " | ".join(_pct(m.get(task)) for m in s.prompt_modes.values()) + " |"
        )
    return lines


def _robustness_lines(s: DemoSummary) -> list[str]:
    if s.effective_robustness is None:
        return ["Robustness view: not drawn (zero-shot on digits or digits_shifted is missing)."]
    clean, moved = s.zero_shot["digits"], s.zero_shot["digits_shifted"]
    return [
        f"Robustness view ([plot]({s.robustness_plot})): the paper's Figure 13 in miniature. "
        f"Zero-shot accuracy goes from {_pct(clean)} on digits to {_pct(moved)} on "
        f"digits_shifted. The baseline is a logit-space line fitted over {s.baseline_models} "
        "small supervised models (logistic regressions and MLPs on the pixels, trained on the "
        "clean digits at several sizes); the tiny CLIP's effective robustness (its shifted "
        f"accuracy minus the baseline's prediction) is {s.effective_robustness:+.1f} points.",
    ]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def run_demo(
    out: str | Path = DEFAULT_OUT, settings: DemoSettings = DemoSettings(), progress: bool = True
) -> DemoSummary:
    """Generates data, trains, evaluates with every suite and writes the report to ``out``.

    Args:
        out: The demo folder (``data/``, ``train/``, ``results/``, the report, ``demo.md``).
        settings: Sizes; :data:`QUICK` is a seconds-long smoke setting.
        progress: Show progress bars and phase lines.

    Returns:
        The :class:`DemoSummary` (also written to ``demo.json``).
    """
    from bench.report import build_report

    out = Path(out)
    clock, seconds = time.perf_counter(), {}

    def phase(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 1)
        clock = now

    _say(progress, f"[1/5] drawing {settings.images} captioned digits into {out / 'data'}")
    data = write_data(out / "data", settings.images, settings.seed)
    phase("data")
    _say(progress, "[2/5] training a tiny CLIP on them")
    trained = train_model(data, out, settings, progress)
    phase("train")
    shifted, missing = available_shift_tasks()
    tasks = [EVAL_TASK, *shifted]
    _say(progress, f"[3/5] evaluating ({settings.suites}) on {', '.join(tasks)}")
    evaluate(trained.checkpoint, out, tasks, settings.suites, progress)
    evaluate_prompt_modes(trained.checkpoint, out, tasks, progress)
    phase("evaluate")
    summary = DemoSummary(
        out=str(out),
        checkpoint=str(trained.checkpoint),
        steps=trained.step,
        images=settings.images,
        tasks=tasks,
        missing_shift_tasks=missing,
        report="index.md",
        machine=f"{platform.machine()}, {os.cpu_count()} cores; training on "
        f"{training_threads(settings)} torch thread(s) + {settings.workers} loader worker(s)",
    )
    collect_numbers(out / "results", summary)
    _say(progress, "[4/5] fitting the supervised baseline for the robustness view")
    robustness_view(out, summary, settings.seed)
    phase("robustness")
    _say(progress, f"[5/5] writing the report to {out}")
    build_report(out / "results", out)
    phase("report")
    seconds["total"] = round(sum(seconds.values()), 1)
    summary.seconds = seconds
    atomic_write_text(out / "demo.md", _markdown(summary))
    atomic_write_json(out / "demo.json", asdict(summary))
    return summary


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, flush=True)
