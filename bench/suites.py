"""Suites: named task lists plus protocol settings, and the runner behind ``bench run``.

A :class:`Suite` names its default tasks (a tag), which tasks it accepts, its protocol
settings and the function that runs it; composite suites (``all``) list member suites.
They live in :data:`SUITES` (a :class:`bench.registry.Registry`): adding a suite is one
``SUITES.register`` call, never an ``if name == ...`` branch.

The Python API (used by ``bench run`` and ``bench demo``) is :func:`run_suite`::

    from bench.suites import run_suite
    summary = run_suite("ViT-B/32", "zero-shot", tasks=["cifar10"], out="results")
    summary = run_suite(model, "all", tasks=["digits"], out="results", model_name="tiny")

Each suite writes one result file per (model, task, suite, shots, seed) with
:mod:`bench.results` and skips those already there (``force`` redoes them).
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import torch

from bench.errors import BenchError, DataMissingError, IncompleteDataError
from bench.features import SplitFeatures, extract
from bench.finite import NonFiniteError
from bench.models.seam import ClipModel, tensors_sha256
from bench.registry import Registry
from bench.results import Result, existing_result, model_slug, result_relpath, write_result
from bench.settings import Settings

#: Errors that fail one task of a run (reported in the summary) while the others still run.
TASK_ERRORS = (DataMissingError, IncompleteDataError, NonFiniteError)

Runner = Callable[["RunContext", list[Any], "Suite"], None]


@dataclass(frozen=True)
class Suite:
    """A named protocol.

    Attributes:
        name: The suite's name (``--suite``).
        description: One line for ``--help``.
        tag: Tasks run when none are given: those of ``bench.tasks.list_tasks(tag)`` that the
            suite accepts (every task it accepts when ``None``).
        runner: ``runner(ctx, tasks, suite)``; ``None`` for a composite suite.
        accepts: Whether a task can be run by this suite.
        requirement: What ``accepts`` asks of a task, for error messages.
        settings: Protocol settings read by the runner (e.g. ``shots``, ``seeds``).
        members: Member suites of a composite suite, run in order.
        per_task: Call the runner once per task (a task whose data is missing is
            reported and the others still run), else once with all tasks.
    """

    name: str
    description: str
    tag: str | None = "paper27"
    runner: Runner | None = None
    accepts: Callable[[Any], bool] = lambda task: True
    requirement: str = ""
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    members: tuple[str, ...] = ()
    per_task: bool = True


SUITES: Registry[Suite] = Registry("suite", "bench run --help")


@dataclass
class RunSummary:
    """What a run did: result files written and skipped, and tasks it could not run."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    not_applicable: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "written": [str(p) for p in self.written],
            "skipped": [str(p) for p in self.skipped],
            "not_applicable": [{"suite": s, "task": t} for s, t in self.not_applicable],
            "failed": [{"suite": s, "task": t, "error": e} for s, t, e in self.failed],
        }


@dataclass
class ModelSpec:
    """A model to evaluate, loaded only when a result is actually computed."""

    name: str
    weights_sha256: str
    loader: Callable[[], torch.nn.Module]
    _model: torch.nn.Module | None = None

    def get(self) -> torch.nn.Module:
        if self._model is None:
            self._model = self.loader()
        return self._model


@dataclass
class RunContext:
    """A run's settings and helpers, handed to every suite runner.

    Runners ask :meth:`done` before computing a result, take features from
    :meth:`features` (the feature cache with the run's settings), and write with
    :meth:`write` a :class:`~bench.results.Result` built by :meth:`new_result`.
    """

    spec: ModelSpec
    out: Path
    settings: Settings
    summary: RunSummary = field(default_factory=RunSummary)
    max_in_memory: int = 6
    _memo: OrderedDict = field(default_factory=OrderedDict)
    _feature_seconds: float = 0.0
    _skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    _partial: dict[str, dict[str, tuple[int, int | None]]] = field(default_factory=dict)
    _eval_model: Any = None

    @property
    def device(self) -> torch.device:
        return self.settings.device

    @property
    def precision(self) -> str:
        return self.settings.precision

    @property
    def data_root(self) -> Path | None:
        return self.settings.data_root

    @property
    def force(self) -> bool:
        return self.settings.force

    @property
    def progress(self) -> bool:
        return self.settings.progress

    @property
    def model(self) -> torch.nn.Module:
        """The model, loaded on first use and moved to the run's device."""
        model = self.spec.get()
        if next(model.parameters()).device != self.device:
            model.to(self.device)
        return model.eval()

    @property
    def eval_model(self) -> ClipModel:
        """The model behind the :class:`bench.models.seam.EvalModel` seam."""
        module = self.model
        if self._eval_model is None or self._eval_model.module is not module:
            self._eval_model = ClipModel(
                module, self.spec.name, weights_sha256=self.spec.weights_sha256
            )
        return self._eval_model

    @property
    def slug(self) -> str:
        return model_slug(self.spec.name)

    def features(self, task: Any, split: str, fold: int | None = None) -> SplitFeatures:
        """A split's features (memory, then the disk cache, then extraction)."""
        key = (task.name, split, fold)
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        t0 = time.perf_counter()
        fs = extract(self.eval_model, task, split, self.settings, fold=fold)
        self._feature_seconds += time.perf_counter() - t0
        name = f"{split}{fold if fold is not None else ''}"
        self._skipped.setdefault(task.name, {})[name] = fs.skipped
        if fs.partial:
            self._partial.setdefault(task.name, {})[name] = (fs.n_found, fs.n_expected)
        self._memo[key] = fs
        while len(self._memo) > self.max_in_memory:
            self._memo.popitem(last=False)
        return fs

    def path(
        self, task: Any, suite: str, shots: int | None = None, seed: int | None = None
    ) -> Path:
        return self.out / result_relpath(self.slug, task.name, suite, shots, seed)

    def done(
        self, task: Any, suite: str, shots: int | None = None, seed: int | None = None
    ) -> Result | None:
        """The existing result of this evaluation, or ``None`` if it is to be computed.

        Raises:
            ResultFileError: a file is there that is unreadable or belongs to other weights
                or another task version (and ``force`` is off).
        """
        if self.force:
            return None
        path = self.path(task, suite, shots, seed)
        found = existing_result(
            path, weights_sha256=self.spec.weights_sha256, task_config_hash=task.config_hash
        )
        if found is not None and path not in self.summary.skipped:
            self.summary.skipped.append(path)
        return found

    def new_result(
        self, task: Any, suite: str, *, value: float, started: float, **fields: Any
    ) -> Result:
        """A result with the run's common fields filled in.

        ``timings`` gains ``features`` (seconds spent getting features since the previous
        result) and ``total`` (since ``started``, a ``time.perf_counter()`` value).
        """
        timings = {"features": self._feature_seconds, **fields.pop("timings", {})}
        partial = self._partial.get(task.name, {})
        timings["total"] = time.perf_counter() - started
        self._feature_seconds = 0.0
        return Result(
            model=self.spec.name,
            model_slug=self.slug,
            weights_sha256=self.spec.weights_sha256,
            task=task.name,
            task_version=task.version,
            task_config_hash=task.config_hash,
            suite=suite,
            metric=task.metric,
            value=float(value),
            skipped_corrupt=sum(self._skipped.get(task.name, {}).values()),
            timings=timings,
            device=_device_name(self.device),
            precision=self.precision,
            partial=bool(partial),
            n_found={k: v[0] for k, v in partial.items()},
            n_expected={k: v[1] for k, v in partial.items()},
            **fields,
        )

    def write(self, result: Result) -> Path:
        path = write_result(result, self.out, force=self.force)
        self.summary.written.append(path)
        return path


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def zero_shot_result(ctx: RunContext, task: Any) -> Result:
    """Zero-shot on a task's test split with its prompt ensemble (not yet written)."""
    from bench import zeroshot

    t0 = time.perf_counter()
    test = ctx.features(task, "test")
    t1 = time.perf_counter()
    classifier = zeroshot.build_classifier(
        ctx.model,
        task.class_prompts,
        task.templates,
        precision=ctx.precision,
        weights_sha256=ctx.spec.weights_sha256,
    )
    scores = zeroshot.evaluate(task, test, classifier, model=ctx.spec.name)
    names = [list(n) if len(n) > 1 else n[0] for n in task.class_prompts]
    return ctx.new_result(
        task,
        "zero-shot",
        value=scores.value,
        top1=scores.parts.get("top1"),
        top5=scores.parts.get("top5"),
        metrics=scores.parts,
        split_sizes={"test": len(test)},
        prompts={"classnames": names, "templates": list(task.templates)},
        timings={"classifier": time.perf_counter() - t1},
        started=t0,
    )


def run_zero_shot(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """The ``zero-shot`` suite: one result per task."""
    for task in tasks:
        if ctx.done(task, suite.name) is None:
            ctx.write(zero_shot_result(ctx, task))


def run_robustness_suite(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """The ``robustness`` suite: ``bench.robustness_suite.run_robustness`` over ImageNet and
    its shifts with both heads, each outcome written as suite ``robustness`` (zero-shot) or
    ``robustness-adapt`` (the ImageNet linear probe)."""
    from bench.robustness_suite import HEAD_SUITES, run_robustness
    from bench.tasks import get_task

    todo = {(t.name, s) for t in tasks for s in HEAD_SUITES.values() if ctx.done(t, s) is None}
    if not todo:
        return
    t0 = time.perf_counter()
    outcomes = run_robustness(
        ctx.model,
        ctx.features,
        tasks=[t.name for t in tasks],
        data_root=ctx.data_root,
        device=ctx.device,
        progress=ctx.progress,
    )
    for o in outcomes:
        if (o.task, o.suite) not in todo:
            continue
        ctx.write(
            ctx.new_result(
                get_task(o.task),
                o.suite,
                value=o.value,
                top1=o.metrics.get("top1"),
                top5=o.metrics.get("top5"),
                metrics={k: float(v) for k, v in o.metrics.items()},
                split_sizes={"test": int(o.n)},
                started=t0,
            )
        )


_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".safetensors")


def model_spec(
    model: str | os.PathLike[str] | torch.nn.Module,
    *,
    weights: str | os.PathLike[str] | None = None,
    model_name: str | None = None,
    device: torch.device | None = None,
) -> ModelSpec:
    """Resolves ``--model`` / ``--weights`` without loading the weights yet.

    ``model`` is an in-memory CLIP, a checkpoint path, or a registered name (``bench
    models``). ``weights`` is a checkpoint file to evaluate under the name ``model``; with a
    registered name it must be that model's official file (a local copy).

    Raises:
        UnknownNameError: ``model`` is neither a file nor a registered model name.
        BenchError: a checkpoint path that does not exist, or weights that are not the
            named model's.
    """
    from bench.errors import UnknownNameError
    from bench.io import sha256_file
    from bench.models import get_model_info, load, load_checkpoint

    if isinstance(model, torch.nn.Module):
        sha = getattr(model, "weights_sha256", None) or tensors_sha256(model)
        return ModelSpec(model_name or "model", sha, lambda: model)
    name = str(model)
    if weights is not None:
        path = _existing_file(weights, "--weights")
        sha = sha256_file(path)
        official = _official_sha(name)
        if official is not None and official != sha:
            raise BenchError(
                f"--weights {path} has sha256 {sha[:12]}..., not the official {name}'s "
                f"{official[:12]}...; evaluate it under its own name (--model my-name "
                f"--weights {path})"
            )
        return ModelSpec(model_name or name, sha, lambda: load_checkpoint(path))
    if Path(name).is_file():  # results name a checkpoint by its file's stem
        path = Path(name)
        return ModelSpec(model_name or path.stem, sha256_file(path), lambda: load_checkpoint(path))
    if Path(name).suffix in _CHECKPOINT_SUFFIXES:
        _existing_file(name, "--model")
    try:
        info = get_model_info(name)
    except UnknownNameError as e:
        raise UnknownNameError(f"{e}, or pass a checkpoint file path") from None

    def _load() -> torch.nn.Module:
        return load(info.name, device=str(device or "cpu"), precision="fp32")[0]

    return ModelSpec(model_name or info.name, info.sha256, _load)


def _official_sha(name: str) -> str | None:
    from bench.errors import UnknownNameError
    from bench.models import get_model_info

    try:
        return get_model_info(name).sha256
    except UnknownNameError:
        return None


def _existing_file(path: str | os.PathLike[str], flag: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise BenchError(
            f"{flag} {path}: no such checkpoint file; pass an existing .pt/.safetensors file "
            "or a model name from `bench models`"
        )
    return p


def resolve_tasks(tasks: Sequence[str] | None, tag: str | None) -> list[Any] | None:
    """``--tasks`` or ``--tag`` as tasks; ``None`` when neither is given (suite defaults).

    Raises:
        UnknownNameError: an unknown task name (with close matches).
        BenchError: both given, or an unknown tag.
    """
    from bench.tasks import get_task, list_tasks

    if tasks and tag:
        raise BenchError("pass either --tasks or --tag, not both")
    if tasks:
        names = list(dict.fromkeys(t.strip() for t in tasks if t.strip()))
        return [get_task(n) for n in names]
    if tag:
        return list_tasks(tag)
    return None


def leaf_suites(suite: Suite) -> list[Suite]:
    """A composite suite's members (recursively), or the suite itself."""
    if not suite.members:
        return [suite]
    return [leaf for m in suite.members for leaf in leaf_suites(SUITES.get(m))]


def _default_tasks(suite: Suite) -> list[Any]:
    from bench.tasks import list_tasks

    return [t for t in list_tasks(suite.tag) if suite.accepts(t)]


def tasks_for(
    suite: Suite, explicit: list[Any] | None, summary: RunSummary, strict: bool
) -> list[Any]:
    """The tasks a leaf suite runs: the explicit ones it accepts, else its defaults.

    Raises:
        BenchError: with ``strict`` (the suite was asked for by name), for a task the suite
            cannot run, naming what the suite needs.
    """
    if explicit is None:
        return _default_tasks(suite)
    rejected = [t.name for t in explicit if not suite.accepts(t)]
    if rejected and strict:
        raise BenchError(
            f"suite {suite.name!r} cannot run task(s) {', '.join(rejected)}: it needs "
            f"{suite.requirement}; pick another --suite, or --suite all to run what applies"
        )
    summary.not_applicable.extend((suite.name, n) for n in rejected)
    return [t for t in explicit if suite.accepts(t)]


def run_suite(
    model: str | os.PathLike[str] | torch.nn.Module,
    suite: str,
    tasks: Sequence[str] | None = None,
    out: str | os.PathLike[str] = "results",
    *,
    tag: str | None = None,
    model_name: str | None = None,
    weights: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 256,
    workers: int = 4,
    precision: str | None = None,
    data_root: str | os.PathLike[str] | None = None,
    force: bool = False,
    skip_corrupt: bool = False,
    progress: bool = True,
    refresh_features: bool = False,
    allow_partial: bool = False,
) -> RunSummary:
    """Runs a suite for one model and writes its results under ``out``.

    Args:
        model: A registered model name, a checkpoint path, or an in-memory CLIP.
        suite: A name in :data:`SUITES` (``zero-shot``, ``linear-probe``, ``few-shot``,
            ``robustness``, ``all``).
        tasks: Task names; default the suite's own list. Exclusive with ``tag``.
        out: The results folder.
        tag: Run the tasks with this tag (``paper27``, ``shifts``, ``embedded``).
        model_name: The name results carry (default: the name or path given; required
            in practice for in-memory models, else ``model``).
        weights: A checkpoint file evaluated under the name ``model``.
        device, batch_size, workers, precision: Feature extraction settings.
        data_root: Overrides where datasets are looked for.
        force: Recompute and overwrite results that exist.
        skip_corrupt: Skip (and count) images that do not decode.
        progress: Show progress bars.
        refresh_features: Re-extract features even where the cache holds them.
        allow_partial: Evaluate splits with fewer items than the task expects, marked partial.

    Returns:
        What was written, skipped, not applicable, and the tasks whose data is missing.

    Raises:
        UnknownNameError: an unknown suite, task or model.
        BenchError: other bad input (see :func:`model_spec`, :func:`resolve_tasks`).
    """
    chosen = SUITES.get(suite)
    settings = Settings.build(
        device=device, precision=precision, batch_size=batch_size, workers=workers,
        data_root=data_root, skip_corrupt=skip_corrupt, force=force,
        refresh_features=refresh_features, allow_partial=allow_partial, progress=progress,
    )  # fmt: skip
    explicit = resolve_tasks(tasks, tag)
    ctx = RunContext(
        spec=model_spec(model, weights=weights, model_name=model_name, device=settings.device),
        out=Path(out),
        settings=settings,
    )
    for leaf in leaf_suites(chosen):
        assert leaf.runner is not None, f"suite {leaf.name} has no runner"
        run_tasks = tasks_for(leaf, explicit, ctx.summary, strict=not chosen.members)
        groups = [[t] for t in run_tasks] if leaf.per_task else [run_tasks] if run_tasks else []
        for group in groups:
            try:
                leaf.runner(ctx, group, leaf)
            except TASK_ERRORS as e:
                ctx.summary.failed.append((leaf.name, ",".join(t.name for t in group), str(e)))
    return ctx.summary


def _has_train(task: Any) -> bool:
    return "train" in task.expected_sizes()


def _not_a_shift(task: Any) -> bool:
    return "shifts" not in task.tags


def _is_robustness_task(task: Any) -> bool:
    from bench.robustness import SHIFTS

    return task.name == "imagenet" or task.name in SHIFTS


def _register() -> None:
    from bench.fewshot import SEEDS, SHOTS, run_few_shot
    from bench.linear_probe_suite import run_linear_probe

    add = SUITES.register
    add(
        "zero-shot",
        Suite(
            "zero-shot",
            "zero-shot with each task's prompt ensemble",
            runner=run_zero_shot,
            accepts=_not_a_shift,
            requirement="a task that is not an ImageNet shift (shifts are scored with the "
            "ImageNet classifier by --suite robustness)",
        ),
    )
    add(
        "linear-probe",
        Suite(
            "linear-probe",
            "L-BFGS logistic regression, C searched on val, refit on train+val",
            runner=run_linear_probe,
            accepts=_has_train,
            requirement="a train split",
        ),
    )
    add(
        "few-shot",
        Suite(
            "few-shot",
            "k-shot linear probes (k = 1, 2, 4, 8, 16; 3 seeds) plus zero-shot as 0 shots",
            runner=run_few_shot,
            accepts=_has_train,
            requirement="a train split",
            settings=MappingProxyType({"shots": SHOTS, "seeds": SEEDS}),
        ),
    )
    add(
        "robustness",
        Suite(
            "robustness",
            "ImageNet and its 7 shifts, zero-shot and adapted to ImageNet",
            tag=None,
            runner=run_robustness_suite,
            accepts=_is_robustness_task,
            requirement="ImageNet or one of its distribution shifts",
            per_task=False,
        ),
    )
    add(
        "all",
        Suite(
            "all",
            "zero-shot, linear-probe, few-shot and robustness",
            members=("zero-shot", "linear-probe", "few-shot", "robustness"),
        ),
    )


_register()
