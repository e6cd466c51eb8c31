"""The overlap result file: ``<out>/<model-slug>/<task>/overlap.json`` (schema-versioned).

Without ``--model`` the folder is ``no-model``. Like :mod:`bench.results`, a file records
the schema version, package version, git commit and the task file's hash; a newer schema
is refused ("upgrade bench") and a missing or mistyped field is named.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import __version__
from bench.errors import BenchError
from bench.io import atomic_write_json
from bench.results import ResultFileError, _now, git_commit, model_slug

OVERLAP_SCHEMA_VERSION = 1
FILENAME = "overlap.json"
NO_MODEL = "no-model"


@dataclass
class OverlapResult:
    """Train-test overlap of one task's test split.

    Attributes:
        task, task_version, task_config_hash: Which task, exactly.
        train: The ``--train`` value; ``train_size`` images read, ``train_unreadable`` skipped.
        detector: ``{"id", "threshold", "calibration": {...}}`` (see :mod:`.calibrate`).
        n_test: Test images compared; ``n_overlap`` of them have a near-duplicate
            (``n_exact`` pixel-identical), ``overlap_percent`` = 100 * n_overlap / n_test.
        model, model_slug, weights_sha256: The model evaluated (``None`` without ``--model``).
        accuracy: ``--model`` only: :func:`bench.overlap.accuracy.subset_accuracy` (percent).
        pairs_csv, contact_sheet: The detected pairs, relative to this file's folder.
        timings: Seconds (``test``, ``train``, ``total``); ``compared``: similarities computed.
    """

    task: str
    task_version: int
    task_config_hash: str
    train: str
    train_size: int
    train_unreadable: int
    detector: dict[str, Any]
    n_test: int
    n_overlap: int
    n_exact: int
    overlap_percent: float
    model: str | None = None
    model_slug: str = NO_MODEL
    weights_sha256: str | None = None
    accuracy: dict[str, Any] | None = None
    pairs_csv: str = "overlap-pairs.csv"
    contact_sheet: str | None = None
    compared: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    kind: str = "overlap"
    schema_version: int = OVERLAP_SCHEMA_VERSION
    bench_version: str = __version__
    git_commit: str | None = field(default_factory=lambda: git_commit())
    created: str = field(default_factory=lambda: _now())

    def relpath(self) -> Path:
        return overlap_relpath(self.model, self.task)


def overlap_relpath(model: str | None, task: str) -> Path:
    """``<model-slug | no-model>/<task>/overlap.json``."""
    return Path(model_slug(model) if model else NO_MODEL) / task / FILENAME


def write_overlap(result: OverlapResult, out: str | Path) -> Path:
    """Writes atomically; returns the path."""
    path = Path(out) / result.relpath()
    atomic_write_json(path, dataclasses.asdict(result))
    return path


def read_overlap(path: str | Path) -> OverlapResult:
    """Reads and checks an overlap file.

    Raises:
        ResultFileError: unreadable JSON, a newer schema, or missing/unknown fields.
    """
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ResultFileError(path, f"not readable JSON ({e})") from None
    if not isinstance(d, dict) or d.get("kind") != "overlap":
        raise ResultFileError(path, "not an overlap result (kind != 'overlap')")
    version = d.get("schema_version")
    if not isinstance(version, int) or version > OVERLAP_SCHEMA_VERSION:
        raise ResultFileError(
            path,
            f"overlap schema {version!r} is newer than {OVERLAP_SCHEMA_VERSION}; upgrade bench",
        )
    names = {f.name for f in dataclasses.fields(OverlapResult)}
    required = {
        f.name
        for f in dataclasses.fields(OverlapResult)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    if missing := sorted(required - d.keys()):
        raise ResultFileError(path, f"missing fields {missing}")
    if unknown := sorted(d.keys() - names):
        raise ResultFileError(path, f"unknown fields {unknown}")
    return OverlapResult(**d)


def check_writable(paths: list[Path], force: bool) -> None:
    """Refuses, before any work, to replace existing overlap files without ``force``.

    Raises:
        BenchError: naming the first existing file.
    """
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise BenchError(
            f"{existing[0]} exists; pass --force to replace it, or --out DIR to write elsewhere"
        )
