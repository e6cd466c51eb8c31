"""The result schema: one JSON file per (model, task, suite, shots, seed).

Files live under ``<out>/<model-slug>/<task>/<suite>[-<k>shot][-seed<s>].json``. The schema
is the :class:`Result` dataclass; :data:`SCHEMA_VERSION` is bumped whenever a field changes
meaning, and :data:`MIGRATIONS` turns every older version into the current one, so that old
results keep loading. A file that cannot be read (a newer schema, a field of the wrong type,
broken JSON) is reported with the exact reason and is never overwritten silently.

Reports read only these files (see :func:`load_results`).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import __version__
from bench.errors import BenchError
from bench.io import atomic_write_json
from bench.models.hub import CHECKPOINT_SUFFIXES

SCHEMA_VERSION = 4
#: ``ci.method`` values (bench.intervals).
CI_METHODS = ("clopper-pearson", "bootstrap")
#: A zero-shot result's prompt modes that have their own file (``zero-shot-<mode>.json``).
PROMPT_VARIANTS = ("single", "classname")


def _v1_to_v2(d: dict[str, Any]) -> dict[str, Any]:
    """Version 2 records partial data; version-1 results were all of complete splits (as
    far as bench checked: it did not compare sizes then)."""
    return {**d, "partial": False, "n_found": {}, "n_expected": {}, "schema_version": 2}


def _v2_to_v3(d: dict[str, Any]) -> dict[str, Any]:
    """Version 3 names the model's family and what was assumed about its architecture;
    version-2 results were all of OpenAI-layout models read without recorded assumptions."""
    return {**d, "model_family": None, "assumptions": [], "schema_version": 3}


def _v3_to_v4(d: dict[str, Any]) -> dict[str, Any]:
    """Version 4 adds ``n`` and ``ci`` (unknown for older results: null) and ``variant``, the
    file-name part of a protocol variant (a zero-shot prompt mode other than the ensemble)."""
    mode = (d.get("prompts") or {}).get("mode")
    variant = mode if d.get("suite") == "zero-shot" and mode in PROMPT_VARIANTS else None
    return {**d, "n": None, "ci": None, "variant": variant, "schema_version": 4}


#: File names under a results folder that hold other kinds of results (bench.overlap).
OTHER_RESULT_FILES = ("overlap.json",)

# version n -> function turning a version-n dict into a version-(n + 1) dict.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _v1_to_v2,
    2: _v2_to_v3,
    3: _v3_to_v4,
}


class ResultFileError(BenchError):
    """A result file that cannot be read, or that a run would overwrite without ``--force``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


_NUM = (int, float)
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
_OPT_NUM = (int, float, type(None))
_OPT_DICT = (dict, type(None))

# field name -> accepted JSON types (bool is rejected where a number is expected).
_TYPES: dict[str, tuple[type, ...]] = {
    "schema_version": (int,),
    "bench_version": (str,),
    "git_commit": _OPT_STR,
    "created": (str,),
    "model": (str,),
    "model_slug": (str,),
    "model_family": _OPT_STR,
    "assumptions": (list,),
    "weights_sha256": _OPT_STR,
    "task": (str,),
    "task_version": (int,),
    "task_config_hash": (str,),
    "suite": (str,),
    "variant": _OPT_STR,
    "shots": _OPT_INT,
    "seed": _OPT_INT,
    "metric": (str,),
    "value": _NUM,
    "top1": _OPT_NUM,
    "top5": _OPT_NUM,
    "n": _OPT_INT,
    "ci": _OPT_DICT,
    "metrics": (dict,),
    "split_sizes": (dict,),
    "prompts": _OPT_DICT,
    "probe": _OPT_DICT,
    "aggregate": _OPT_DICT,
    "skipped_corrupt": (int,),
    "partial": (bool,),
    "n_found": (dict,),
    "n_expected": (dict,),
    "timings": (dict,),
    "device": (str,),
    "precision": (str,),
    "extra": (dict,),
}


@dataclass
class Result:
    """One evaluation result (schema version :data:`SCHEMA_VERSION`).

    Attributes:
        model: The model's name as given (``ViT-B/32``, or a checkpoint's file name).
        model_slug: The folder name under ``results/`` (see :func:`model_slug`).
        model_family: ``openai``, ``bench``, ``open_clip`` or ``hf`` (``None``: in-memory or
            older results).
        assumptions: What bench assumed, not knew, about the model's architecture (a plain
            state dict read with OpenAI's conventions); shown in reports.
        weights_sha256: sha256 of the weights evaluated; ``None`` only for in-memory models.
        task, task_version, task_config_hash: Which task, exactly (the task file's sha256).
        suite: ``zero-shot``, ``linear-probe``, ``few-shot``, ``robustness`` ...
        variant: A protocol variant with its own file, ``<suite>-<variant>...json``: a
            zero-shot prompt mode (``single``, ``classname``) or a retrieval caption prefix
            other than the paper's; ``None`` for the default protocol.
        shots: Training examples per class (few-shot; 0 is the zero-shot point), else ``None``.
        seed: The few-shot sampling seed; ``None`` for seed-free results and for the
            across-seed aggregate, whose ``aggregate`` holds the seeds, values and std.
        metric, value: The task's metric name and its value in percent (0-100).
        top1, top5: Top-1 and top-5 accuracy in percent where they apply.
        n: The items behind ``value``'s interval (binomial trials, or bootstrap items:
            test images for retrieval); ``None`` for an across-seed aggregate.
        ci: ``{"level", "low", "high", "method"}`` in percent (``method`` ``clopper-pearson``
            or ``bootstrap``, the latter with ``resamples`` and ``seed``); ``None`` for an
            across-seed aggregate (its spread is ``aggregate["std"]``) and older results.
        metrics: Other named numbers in percent (the metric's parts such as ``pm0``/``pm10``;
            robustness: ``imagenet_subsampled``).
        split_sizes: Number of examples used per split (after skipped corrupt images).
        prompts: Zero-shot: ``{"classnames": [...], "templates": [...]}`` as encoded.
        probe: Linear probe: ``{"C": best C, "search": [[C, val score], ...], ...}``.
        aggregate: Across seeds: ``{"seeds": [...], "values": [...], "std": float}``.
        skipped_corrupt: Images skipped with ``--skip-corrupt``.
        partial: Some split had fewer (or more) items than the task file expects and was
            evaluated anyway (``--allow-partial``); not comparable with published numbers.
        n_found, n_expected: For each such split, the items found and expected.
        timings: Seconds per phase (``features``, ``classifier``, ``probe``, ``total``).
        device, precision: Where and how the features were computed.
        extra: Suite-specific data (e.g. robustness numbers per shift).
    """

    model: str
    model_slug: str
    weights_sha256: str | None
    task: str
    task_version: int
    task_config_hash: str
    suite: str
    metric: str
    value: float
    variant: str | None = None
    shots: int | None = None
    seed: int | None = None
    top1: float | None = None
    top5: float | None = None
    n: int | None = None
    ci: dict[str, Any] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    split_sizes: dict[str, int] = field(default_factory=dict)
    prompts: dict[str, Any] | None = None
    probe: dict[str, Any] | None = None
    aggregate: dict[str, Any] | None = None
    skipped_corrupt: int = 0
    partial: bool = False
    n_found: dict[str, int] = field(default_factory=dict)
    n_expected: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    precision: str = "fp32"
    extra: dict[str, Any] = field(default_factory=dict)
    model_family: str | None = None
    assumptions: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    bench_version: str = __version__
    git_commit: str | None = field(default_factory=lambda: git_commit())
    created: str = field(default_factory=lambda: _now())

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict (validated first)."""
        d = dataclasses.asdict(self)
        validate(d)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Result:
        """Builds a result from a dict of the current schema version.

        Raises:
            ValueError: naming the first bad field (use :func:`read_result` for files).
        """
        validate(d)
        return cls(**dict(d))

    def relpath(self) -> Path:
        """This result's path relative to the results folder."""
        return result_relpath(
            self.model_slug, self.task, self.suite, self.shots, self.seed, self.variant
        )


def validate(d: Mapping[str, Any]) -> None:
    """Checks a current-version result dict field by field.

    Raises:
        ValueError: naming the missing, unknown or mistyped field and what it should be.
    """
    unknown = sorted(set(d) - set(_TYPES))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}")
    missing = sorted(set(_TYPES) - set(d))
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    for name, types in _TYPES.items():
        v = d[name]
        if (isinstance(v, bool) and bool not in types) or not isinstance(v, types):
            want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ValueError(f"field {name!r} is {v!r}; expected {want}")
    if d["schema_version"] != SCHEMA_VERSION:
        raise ValueError(f"schema_version {d['schema_version']} is not {SCHEMA_VERSION}")
    if not math.isfinite(d["value"]):
        raise ValueError(f"field 'value' is {d['value']!r}; expected a finite number")
    for name in ("metrics", "split_sizes", "timings", "n_found", "n_expected"):
        for k, v in d[name].items():
            if isinstance(v, bool) or not isinstance(v, _NUM):
                raise ValueError(f"{name}[{k!r}] is {v!r}; expected a number")
    if not all(isinstance(a, str) for a in d["assumptions"]):
        raise ValueError(f"field 'assumptions' is {d['assumptions']!r}; expected a list of strings")
    _validate_nested(d)


def _validate_ci(d: Mapping[str, Any]) -> None:
    ci = d["ci"]
    if ci is None:
        return
    for key in ("level", "low", "high"):
        v = ci.get(key)
        if isinstance(v, bool) or not isinstance(v, _NUM) or not math.isfinite(v):
            raise ValueError(f"ci[{key!r}] is {v!r}; expected a finite number")
    if ci.get("method") not in CI_METHODS:
        raise ValueError(f"ci['method'] is {ci.get('method')!r}; expected one of {CI_METHODS}")
    if ci["method"] == "bootstrap" and not isinstance(ci.get("resamples"), int):
        raise ValueError("ci['resamples'] must be an integer for a bootstrap interval")
    if d["n"] is None:
        raise ValueError("a result with a ci needs its n")


def _validate_nested(d: Mapping[str, Any]) -> None:
    _validate_ci(d)
    mode = (d["prompts"] or {}).get("mode")
    if d["variant"] is not None and not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", d["variant"]):
        raise ValueError(f"variant {d['variant']!r} must be lowercase words joined by '-'")
    if d["suite"] == "zero-shot" and mode in PROMPT_VARIANTS and d["variant"] != mode:
        raise ValueError(f"a zero-shot result of prompts mode {mode!r} needs variant {mode!r}")
    prompts = d["prompts"]
    if prompts is not None:
        for key in ("classnames", "templates"):
            if not isinstance(prompts.get(key), list):
                raise ValueError(f"prompts[{key!r}] must be a list")
    probe = d["probe"]
    if probe is not None and not isinstance(probe.get("C"), _NUM):
        raise ValueError(f"probe['C'] is {probe.get('C')!r}; expected a number")
    agg = d["aggregate"]
    if agg is not None:
        for key in ("seeds", "values"):
            if not isinstance(agg.get(key), list):
                raise ValueError(f"aggregate[{key!r}] must be a list")
        if not isinstance(agg.get("std"), _NUM):
            raise ValueError("aggregate['std'] must be a number")


def upgrade(d: dict[str, Any]) -> dict[str, Any]:
    """Migrates a result dict of any known older schema version to the current one.

    Raises:
        ValueError: for a version newer than this bench, or one with no migration path.
    """
    version = d.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"no integer 'schema_version' (found {version!r}); not a bench result")
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"schema version {version} is newer than this bench's {SCHEMA_VERSION} "
            f"(bench {__version__}); upgrade bench to read it"
        )
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise ValueError(
                f"schema version {version} has no migration to {SCHEMA_VERSION}; "
                "re-run the evaluation with --force to rewrite it"
            )
        d = MIGRATIONS[version](dict(d))
        version = d["schema_version"]
    return d


def read_result(path: str | Path) -> Result:
    """Reads and validates one result file (older schema versions are migrated in memory).

    Raises:
        ResultFileError: naming the file and exactly why it cannot be read.
    """
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ResultFileError(path, f"cannot be read as JSON ({e})") from None
    if not isinstance(d, dict):
        raise ResultFileError(path, f"holds a JSON {type(d).__name__}, not an object")
    try:
        return Result.from_dict(upgrade(d))
    except (ValueError, TypeError) as e:
        raise ResultFileError(path, str(e)) from None


def write_result(result: Result, out: str | Path, *, force: bool = False) -> Path:
    """Writes ``result`` atomically under ``out``; returns the file's path.

    An existing file is replaced only with ``force`` (a run checks :func:`existing_result`
    first and skips what is done); otherwise :class:`ResultFileError` says what is there.
    """
    path = Path(out) / result.relpath()
    if path.exists() and not force:
        raise ResultFileError(path, "exists already; pass --force to replace it")
    atomic_write_json(path, result.to_dict())
    return path


def existing_result(
    path: str | Path, *, weights_sha256: str | None, task_config_hash: str
) -> Result | None:
    """The result already at ``path`` if it is a valid result of the same weights and task.

    Returns ``None`` when there is no file. A file that cannot be read, or that holds the
    result of other weights or another version of the task file, raises: a run replaces
    it only when asked to (``--force``), never silently.

    Raises:
        ResultFileError: naming the file and why it is not a result of this evaluation.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        old = read_result(path)
    except ResultFileError as e:
        raise ResultFileError(path, f"{e.reason}; pass --force to replace it") from None
    if old.weights_sha256 != weights_sha256:
        raise ResultFileError(
            path,
            f"holds results of weights sha256 {old.weights_sha256}, not {weights_sha256}; "
            "pass --force to replace it or --out to write elsewhere",
        )
    if old.task_config_hash != task_config_hash:
        raise ResultFileError(
            path,
            f"was made with task file hash {old.task_config_hash[:12]}, not "
            f"{task_config_hash[:12]} (the task changed); pass --force to redo it",
        )
    return old


@dataclass
class ResultSet:
    """What :func:`load_results` found: readable results and per-file problems."""

    results: list[tuple[Path, Result]]
    problems: list[tuple[Path, str]]


def load_results(out: str | Path) -> ResultSet:
    """Reads every ``*.json`` under ``out`` (sorted by path).

    Files that cannot be read are listed in ``problems`` with the reason, never dropped
    silently.
    """
    out = Path(out)
    found: list[tuple[Path, Result]] = []
    problems: list[tuple[Path, str]] = []
    for path in sorted(out.rglob("*.json")) if out.is_dir() else []:
        if any(part.startswith(".") for part in path.relative_to(out).parts):
            continue  # temporary files of atomic writes
        if path.name in OTHER_RESULT_FILES:
            continue  # results of other kinds, read by their own readers
        try:
            found.append((path, read_result(path)))
        except ResultFileError as e:
            problems.append((path, e.reason))
    return ResultSet(found, problems)


def result_relpath(
    model_slug: str,
    task: str,
    suite: str,
    shots: int | None = None,
    seed: int | None = None,
    variant: str | None = None,
) -> Path:
    """``<model-slug>/<task>/<suite>[-<variant>][-<k>shot][-seed<s>].json``."""
    stem = suite if variant is None else f"{suite}-{variant}"
    if shots is not None:
        stem += f"-{shots}shot"
    if seed is not None:
        stem += f"-seed{seed}"
    return Path(model_slug) / task / f"{stem}.json"


def model_slug(name: str) -> str:
    """A folder name for a model: ``ViT-L/14@336px`` -> ``ViT-L-14-336px``; a path -> its stem."""
    if Path(name).suffix in CHECKPOINT_SUFFIXES:
        name = Path(name).stem
    slug = re.sub(r"[^A-Za-z0-9._]+", "-", name).strip("-.")
    return slug or "model"


def git_commit() -> str | None:
    """The commit of the checkout bench runs from, with ``-dirty`` if it has changes; else None."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        sha = _git(root, "rev-parse", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


_GIT_CACHE: dict[tuple[str, ...], str] = {}


def _git(root: Path, *args: str) -> str:
    key = (str(root), *args)
    if key not in _GIT_CACHE:
        proc = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        _GIT_CACHE[key] = proc.stdout.strip()
    return _GIT_CACHE[key]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
