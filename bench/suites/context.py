"""The run context: the services every suite uses, built once per run.

A suite asks :meth:`RunContext.done` before computing a result, takes features from
:meth:`RunContext.features` (the feature cache with the run's settings), the zero-shot
classifier from :meth:`RunContext.classifier` (memoised per task, with the run's precision and
weights), checks what it computes with :meth:`RunContext.check`, and writes with
:meth:`RunContext.write` a :class:`~bench.results.Result` built by :meth:`RunContext.new_result`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.errors import BenchError
from bench.features import SplitFeatures, extract
from bench.finite import check_finite
from bench.metrics import SEED, interval
from bench.models.seam import EvalModel
from bench.protocols.zero_shot import ENSEMBLE, build_classifier, mode_templates
from bench.results import Result, existing_result, model_slug, result_relpath, write_result
from bench.settings import Settings


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
    loader: Callable[[], EvalModel]
    slug: str | None = None
    family: str | None = None
    assumptions: tuple[str, ...] = ()
    _model: EvalModel | None = None

    def __post_init__(self) -> None:
        if self.slug is None:
            self.slug = model_slug(self.name)

    def get(self) -> EvalModel:
        """The model, loaded on first use.

        Raises:
            ModelLoadError: the weights could not be loaded (the whole run stops: every task
                would fail the same way).
        """
        if self._model is None:
            try:
                self._model = self.loader()
            except ModelLoadError:
                raise
            except BenchError as e:
                raise ModelLoadError(str(e)) from e
        return self._model

    def complete_sha(self) -> None:
        """Fills in ``weights_sha256`` where it is known only once the weights are loaded
        (an ``open_clip:ARCH/PRETRAINED`` or HF hub model: this downloads them).

        Raises:
            ModelLoadError: the weights could not be loaded.
        """
        if not self.weights_sha256:
            self.weights_sha256 = self.get().weights_sha256


class ModelLoadError(BenchError):
    """The model could not be loaded; no task of the run can be evaluated."""


@dataclass
class RunContext:
    """A run's model, settings, caches and summary, handed to every suite runner.

    ``prompts`` (the zero-shot suite's prompt mode) and ``caption_prefix`` (the retrieval
    suite's; ``None``: the paper's) are the run's protocol options (``bench run --prompts``,
    ``--caption-prefix``).
    """

    spec: ModelSpec
    settings: Settings
    out: Path
    prompts: str = ENSEMBLE
    caption_prefix: str | None = None
    summary: RunSummary = field(default_factory=RunSummary)
    max_in_memory: int = 6
    prefetched: bool = False  # a distributed run: the ranks extracted the chunks already
    _memo: OrderedDict = field(default_factory=OrderedDict)
    _classifiers: dict[str, torch.Tensor] = field(default_factory=dict)
    _feature_seconds: float = 0.0
    _skipped: dict[str, dict[str, int]] = field(default_factory=dict)
    _partial: dict[str, dict[str, tuple[int, int | None]]] = field(default_factory=dict)

    @property
    def model(self) -> EvalModel:
        """The model, loaded on first use and moved to the run's device."""
        model = self.spec.get()
        if model.device != self.settings.device:
            model.to(self.settings.device)
        return model

    @property
    def slug(self) -> str:
        return self.spec.slug

    def features(self, task: Any, split: str, fold: int | None = None) -> SplitFeatures:
        """A split's features (memory, then the disk cache, then extraction)."""
        key = (task.name, split, fold)
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        t0 = time.perf_counter()
        fs = extract(self.model, task, split, self.settings, fold=fold, prefetched=self.prefetched)
        self._feature_seconds += time.perf_counter() - t0
        part = f"{split}{fold if fold is not None else ''}"
        self._skipped.setdefault(task.name, {})[part] = fs.skipped
        if fs.partial:
            self._partial.setdefault(task.name, {})[part] = (fs.n_found, fs.n_expected)
        self._memo[key] = fs
        while len(self._memo) > self.max_in_memory:
            self._memo.popitem(last=False)
        return fs

    def classifier(self, task: Any, mode: str = ENSEMBLE) -> torch.Tensor:
        """The task's zero-shot classifier ``[D, C]`` (every name of every class, the
        templates of prompt ``mode``, the run's precision and weights), built once per run
        and mode."""
        return self._classifier(
            task, f"{task.name}#{mode}", task.class_prompts, mode_templates(task.templates, mode)
        )

    def prompt_classifier(self, task: Any, name: str, prompts: Sequence[str]) -> torch.Tensor:
        """A classifier ``[D, len(prompts)]`` of one prompt per label (the bias probes' label
        sets), with the run's precision and weights; built once per run per ``(task, name)``."""
        return self._classifier(task, f"{task.name}/{name}", tuple(prompts), ("{}",))

    def _classifier(
        self, task: Any, key: str, classnames: Sequence[Any], templates: Sequence[str]
    ) -> torch.Tensor:
        if key not in self._classifiers:
            weights = build_classifier(
                self.model, classnames, templates, precision=self.settings.precision
            )
            self.check(weights, "zero-shot classifier weight", task, "test")
            self._classifiers[key] = weights
        return self._classifiers[key]

    def check(self, x: Any, what: str, task: Any, split: str) -> None:
        """Fails the task (``NonFiniteError``) if ``x`` holds NaN or Inf values."""
        check_finite(x, what=what, model=self.spec.name, task=task.name, split=split)

    def probe_info(self) -> dict[str, Any]:
        """The ``probe`` section's record of which features the probe was fitted on."""
        return {"features": self.model.probe_kind, "dim": self.model.probe_dim}

    def path(
        self, task: Any, suite: str, shots: int | None = None, seed: int | None = None,
        variant: str | None = None,
    ) -> Path:  # fmt: skip
        return self.out / result_relpath(self.slug, task.name, suite, shots, seed, variant)

    def done(
        self, task: Any, suite: str, shots: int | None = None, seed: int | None = None,
        variant: str | None = None,
    ) -> Result | None:  # fmt: skip
        """The existing result of this evaluation, or ``None`` if it is to be computed.

        Raises:
            ResultFileError: a file is there that is unreadable or belongs to other weights
                or another task version (and ``force`` is off).
        """
        if self.settings.force:
            return None
        path = self.path(task, suite, shots, seed, variant)
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
        timings["total"] = time.perf_counter() - started
        self._feature_seconds = 0.0
        partial = self._partial.get(task.name, {})
        fields["extra"] = {**self._data_source(task), **(fields.get("extra") or {})}
        return Result(
            model=self.spec.name,
            model_slug=self.slug,
            model_family=self.spec.family,
            assumptions=list(self.spec.assumptions),
            weights_sha256=self.spec.weights_sha256,
            task=task.name,
            task_version=task.version,
            task_config_hash=task.config_hash,
            suite=suite,
            metric=task.metric,
            value=float(value),
            skipped_corrupt=sum(self._skipped.get(task.name, {}).values()),
            timings=timings,
            device=_device_name(self.settings.device),
            precision=self.settings.precision,
            partial=bool(partial),
            n_found={k: v[0] for k, v in partial.items()},
            n_expected={k: v[1] for k, v in partial.items()},
            **fields,
        )

    def _data_source(self, task: Any) -> dict[str, str]:
        """``{"data_source": "official" | "hf-mirror"}``: which copy of the data was read,
        with the mirror's agreement with the paper's splits when it was the mirror."""
        if not hasattr(task, "data_source"):
            return {}
        try:
            source = task.data_source(self.settings.data_root)
        except (BenchError, OSError):
            return {}
        out = {"data_source": source}
        mirror = getattr(task, "mirror", None)
        if source == "hf-mirror" and mirror is not None:
            splits = getattr(mirror, "splits", {}) or {}
            out["mirror_splits"] = ",".join(f"{k}={v}" for k, v in dict(splits).items())
        return out

    def write(self, result: Result) -> Path:
        path = write_result(result, self.out, force=self.settings.force)
        self.summary.written.append(path)
        return path


def ci_fields(
    metric: str, scores: Any, labels: Any, side: dict[str, Any] | None, value: float
) -> dict[str, Any]:
    """A result's ``n`` and ``ci``: the interval its metric declares (bench.metrics)."""
    n, found = interval(metric, scores, labels, side, value=value)
    ci = found.to_dict()
    if found.method == "bootstrap":
        ci["seed"] = SEED
    return {"n": n, "ci": ci}


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)
