"""Reads a results folder (only through :func:`bench.results.load_results`) into one tidy frame.

Every report, table and plot starts from :func:`collect`: one row per result file, with the
files that could not be read listed per file (a newer schema, a broken file) and files of older
schema versions (migrated in memory by :mod:`bench.results`) named as such.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.errors import BenchError
from bench.results import SCHEMA_VERSION, load_results, model_slug

DEFAULT_RESULTS = "results"
COLUMNS = (
    "model", "model_slug", "task", "suite", "shots", "seed", "metric", "value", "top1", "top5",
    "metrics", "aggregate", "prompt_mode", "n", "ci", "variant", "path", "partial",
    "assumptions", "mirror",
)  # fmt: skip
# A zero-shot result's ``prompts["mode"]`` (absent = ensemble) -> the suite name it is reported
# under, which is also its file's stem (``zero-shot-single.json``). Only the ensemble is
# ``zero-shot``: a single-prompt or class-name result never mixes into the zero-shot tables.
ZERO_SHOT_SUITES = {
    "ensemble": "zero-shot", "single": "zero-shot-single", "classname": "zero-shot-classname",
}  # fmt: skip


@dataclass
class Collected:
    """The results a report works from.

    Attributes:
        frame: One row per readable result file (columns :data:`COLUMNS`), sorted by path.
        problems: ``(path, reason)`` of each file that could not be read.
        migrated: ``(path, schema_version)`` of each file read from an older schema version.
        root: The results folder as given.
    """

    frame: pd.DataFrame
    problems: list[tuple[str, str]] = field(default_factory=list)
    migrated: list[tuple[str, int]] = field(default_factory=list)
    root: str = "results"

    def notes(self) -> list[str]:
        """One line per file that was skipped or migrated."""
        lines = [f"skipped {p}: {reason}" for p, reason in self.problems]
        lines += [
            f"read {p} (schema version {v}, migrated to {SCHEMA_VERSION})" for p, v in self.migrated
        ]
        return lines


def _raw_version(path: Path) -> int | None:
    try:
        v = json.loads(path.read_text(encoding="utf-8")).get("schema_version")
    except (OSError, ValueError, AttributeError):
        return None
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def collect(results_dir: str | Path) -> Collected:
    """Loads every result under ``results_dir``.

    Raises:
        BenchError: if the folder does not exist.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise BenchError(
            f"results folder {str(root)!r} does not exist; run an evaluation first "
            "(e.g. `bench run --model ViT-B/32 --suite zero-shot`) or pass --results PATH"
        )
    loaded = load_results(root)
    rows, migrated = [], []
    problems = [(p.relative_to(root).as_posix(), reason) for p, reason in loaded.problems]
    for path, r in loaded.results:
        rel = path.relative_to(root).as_posix()
        try:
            suite, mode = report_suite(r.suite, r.prompts, path)
        except ValueError as e:
            problems.append((rel, str(e)))
            continue
        if r.variant is not None and r.suite != "zero-shot":
            suite = f"{r.suite}-{r.variant}"  # e.g. another caption prefix: never the main table
        version = _raw_version(path)
        if version is not None and version != SCHEMA_VERSION:
            migrated.append((rel, version))
        rows.append(
            {
                "model": r.model, "model_slug": r.model_slug, "task": r.task, "suite": suite,
                "shots": r.shots, "seed": r.seed, "metric": r.metric, "value": float(r.value),
                "top1": r.top1, "top5": r.top5, "metrics": dict(r.metrics),
                "aggregate": r.aggregate, "prompt_mode": mode, "n": r.n, "ci": r.ci,
                "variant": r.variant, "path": rel, "partial": bool(r.partial),
                "assumptions": tuple(r.assumptions), "mirror": mirror_caveat(r.extra, r.split_sizes),
            }
        )  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    return Collected(frame, problems, migrated, str(results_dir))


def mirror_caveat(extra: dict, split_sizes: dict) -> str | None:
    """How the splits a result used differ from the paper's, when it read the Hugging Face
    mirror (``extra["data_source"] == "hf-mirror"``): ``"test differs"``, ``"train unknown"``
    ... from the task file's ``mirror.splits`` the result recorded; None for official data or
    a mirror whose used splits are all the paper's (``same``).

    A split the mirror does not have itself (a val carved from train) counts as train.
    """
    if (extra or {}).get("data_source") != "hf-mirror":
        return None
    pairs = (p.partition("=") for p in str(extra.get("mirror_splits") or "").split(",") if p)
    status = {k: v for k, _, v in pairs}
    used = {s if s in status else "train" for s in (split_sizes or status)}
    odd = [f"{s} {status.get(s, 'unknown')}" for s in sorted(used) if status.get(s) != "same"]
    return ", ".join(odd) or None


def report_suite(suite: str, prompts: dict | None, path: Path) -> tuple[str, str | None]:
    """The suite a result is reported under, and its prompt mode (zero-shot results only).

    Raises:
        ValueError: for an unknown prompt mode, or a file whose name disagrees with its mode
            (``zero-shot.json`` holding a single-prompt result would mix into the main table).
    """
    if suite != "zero-shot":
        return suite, None
    mode = (prompts or {}).get("mode", "ensemble")
    if mode not in ZERO_SHOT_SUITES:
        raise ValueError(
            f"prompts mode {mode!r} is not one of {', '.join(ZERO_SHOT_SUITES)}; re-run it with "
            "a bench that knows it"
        )
    expected = ZERO_SHOT_SUITES[mode]
    if path.stem != expected:
        raise ValueError(
            f"holds a zero-shot result with prompts mode {mode!r}, which belongs in "
            f"{expected}.json, not {path.name}; move or re-run it"
        )
    return expected, mode


def _matches(name: str, wanted: str) -> bool:
    return name == wanted or model_slug(name) == model_slug(wanted)


def select(
    data: Collected, models: Sequence[str] | None = None, suites: Sequence[str] | None = None
) -> Collected:
    """Keeps the results of ``models`` (names or folder slugs) and ``suites``.

    Raises:
        BenchError: naming the requested models (or suites) with no results, the models that
            were found, and the ``bench run`` command that produces the missing ones.
    """
    df = data.frame
    found = sorted(df["model"].unique())
    if models:
        missing = [m for m in models if not any(_matches(n, m) for n in found)]
        if missing:
            raise BenchError(_missing_message(missing, found, data.root, suites))
        df = df[[any(_matches(n, m) for m in models) for n in df["model"]]]
    if suites:
        have = set(df["suite"])
        lacking = [s for s in suites if s not in have]
        if lacking:
            models_here = sorted(df["model"].unique()) or list(models or [])
            raise BenchError(_missing_suite_message(lacking, models_here, data.root))
        if "zero-shot" in suites:  # the prompt ablation's modes come with zero-shot
            suites = [*suites, *ZERO_SHOT_SUITES.values()]
        df = df[df["suite"].isin(list(suites))]
    if df.empty:
        raise BenchError(_missing_message(list(models or []), found, data.root, suites))
    return Collected(df.reset_index(drop=True), data.problems, data.migrated, data.root)


def _run_hint(model: str, suite: str | None, root: str) -> str:
    args = ["bench", "run", "--model", model, "--suite", suite or "zero-shot"]
    if root != DEFAULT_RESULTS:
        args += ["--out", root]
    return "`" + shlex.join(args) + "`"


def _missing_message(
    missing: Sequence[str], found: Sequence[str], root: str, suites: Sequence[str] | None
) -> str:
    suite = suites[0] if suites else None
    what = f"model(s) {', '.join(missing)}" if missing else "the requested models"
    have = f"found results for: {', '.join(found)}" if found else "it holds no readable results"
    hints = "; ".join(_run_hint(m, suite, root) for m in (missing or ["ViT-B/32"]))
    return f"no results for {what} under {root!r} ({have}); produce them with {hints}"


def _missing_suite_message(lacking: Sequence[str], models: Sequence[str], root: str) -> str:
    hints = "; ".join(_run_hint(m, s, root) for s in lacking for m in models[:3])
    return (
        f"no {', '.join(lacking)} results for {', '.join(models)} under {root!r}; "
        f"produce them with {hints}"
    )
