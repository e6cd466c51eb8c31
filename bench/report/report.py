"""``bench report``: every table and plot of a results folder, with an ``index.md`` and a JSON summary.

The output depends only on the result files read (no dates, no absolute paths, sorted keys, fixed
plot metadata), so the same results give byte-identical reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.io import atomic_write_json, atomic_write_text
from bench.report import plots
from bench.report.bias import BIAS_SUITE, bias_tables
from bench.report.collect import ZERO_SHOT_SUITES, Collected, collect, select
from bench.report.overlap import overlap_section
from bench.report.tables import (
    SHIFT_SUITES,
    Table,
    effective_robustness_table,
    prompt_ablation_table,
    published_table,
    shift_points,
    suite_table,
)

SUITE_ORDER = (
    "zero-shot", ZERO_SHOT_SUITES["single"], ZERO_SHOT_SUITES["classname"], "linear-probe",
    "few-shot", "robustness", "robustness-adapt", "retrieval",
)  # fmt: skip
# Whether the suites in a report are what a plot kind draws from; only then is it drawn.
PLOT_NEEDS: dict[str, Callable[[set[str]], bool]] = {
    "effective-robustness": lambda suites: bool(suites & set(SHIFT_SUITES)),
    "few-shot": lambda suites: "few-shot" in suites,
    "zs-vs-lp": lambda suites: {"zero-shot", "linear-probe"} <= suites,
    "prompt-ablation": lambda suites: {"zero-shot", ZERO_SHOT_SUITES["single"]} <= suites,
}
TABLE_FORMATS = {"md": "to_markdown", "csv": "to_csv", "tex": "to_latex"}


def _suites(present: Sequence[str]) -> list[str]:
    rank = {s: i for i, s in enumerate(SUITE_ORDER)}
    return sorted(set(present), key=lambda s: (rank.get(s, len(rank)), s))


def build_tables(data: Collected, ci: bool = False) -> list[Table]:
    """The suite tables (with each result's interval if ``ci``), the effective-robustness
    tables, the prompt ablation, the published comparison and the bias probes' tables (which
    replace the bias suite's table)."""
    df = data.frame
    tables = [suite_table(df, s, ci) for s in _suites(df["suite"].unique()) if s != BIAS_SUITE]
    for suite in SHIFT_SUITES:
        if not shift_points(df, suite).dropna().empty:
            tables.append(effective_robustness_table(df, suite))
    for extra in (prompt_ablation_table(df), published_table(df)):
        if extra is not None:
            tables.append(extra)
    return tables + bias_tables(df)


def _write_table(table: Table, out: Path) -> dict[str, str]:
    files = {}
    for ext, method in TABLE_FORMATS.items():
        rel = f"tables/{table.name}.{ext}"
        atomic_write_text(out / rel, getattr(table, method)())
        files[ext] = rel
    return files


def _draw_plots(data: Collected, out: Path, req: plots.PlotRequest) -> tuple[dict, list[str]]:
    """Draws every plot kind the results support; a kind with nothing to draw is noted."""
    drawn, notes = {}, []
    present = set(data.frame["suite"])
    for kind, fn in plots.PLOTS.items():
        if not PLOT_NEEDS[kind](present):
            continue
        try:
            result = fn(data.frame, out / "plots" / kind, req)
        except BenchError as e:
            notes.append(f"plot {kind} not drawn: {e}")
            continue
        drawn[kind] = [p.relative_to(out).as_posix() for p in result.paths]
        notes += result.notes
    return drawn, notes


def _clean(v: Any) -> Any:
    if isinstance(v, str):  # a text cell ("yes"/"no" of the published comparison's in CI)
        return v
    v = float(v)
    return None if math.isnan(v) else v


def _table_json(table: Table) -> dict[str, Any]:
    values = table.values.copy()
    for col in table.averages:
        mean, n = table.average(col)
        values[col] = mean.where(n > 0)
    return {
        str(i): {str(c): _clean(v) for c, v in row.items()} for i, row in values.round(4).iterrows()
    }


def _index(data: Collected, tables: list[Table], files: dict, drawn: dict, notes: list[str]) -> str:
    models = sorted(data.frame["model"].unique())
    lines = [
        "# bench report",
        "",
        f"Results folder: `{data.root}` ({len(data.frame)} result files read).",
        f"Models: {', '.join(models)}.",
        "",
    ]
    for table in tables:
        links = " · ".join(f"[{ext}]({rel})" for ext, rel in files[table.name].items())
        lines += [f"## {table.title}", "", links, "", table.to_markdown()]
    if drawn:
        lines += ["## Plots", ""]
        for kind, paths in drawn.items():
            png = next((p for p in paths if p.endswith(".png")), paths[0])
            links = " · ".join(f"[{Path(p).suffix[1:]}]({p})" for p in paths)
            lines += [f"### {kind}", "", f"![{kind}]({png})", "", links, ""]
    if notes or data.notes():
        lines += ["## Notes", ""] + [f"- {n}" for n in [*data.notes(), *notes]] + [""]
    return "\n".join(lines)


def build_report(
    results_dir: str | Path,
    out: str | Path,
    *,
    models: Sequence[str] | None = None,
    suites: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: bool = False,
) -> dict[str, Any]:
    """Writes ``index.md``, ``summary.json``, ``tables/*`` and ``plots/*`` under ``out``.

    Args:
        results_dir: The results folder (``bench run --out``).
        out: The report folder.
        models: Model names (or folder slugs) to include; all if None.
        suites: Suites to include; all if None.
        n_boot: Bootstrap resamples of the effective-robustness band.
        seed: Seed of the bootstrap.
        ci: Show each result's interval in the models x tasks tables (``--ci``).

    Returns:
        The JSON summary (also written to ``summary.json``).

    Raises:
        BenchError: if the folder is missing, or the requested models or suites have no results
            (naming those found and the ``bench run`` command that produces the rest).
    """
    out = Path(out)
    data = select(collect(results_dir), models, suites)
    extra_tables, extra_plots, extra_notes = overlap_section(results_dir, out)
    tables = build_tables(data, ci) + extra_tables
    files = {t.name: _write_table(t, out) for t in tables}
    drawn, notes = _draw_plots(data, out, plots.PlotRequest(n_boot=n_boot, seed=seed))
    drawn, notes = {**drawn, **extra_plots}, notes + extra_notes + assumption_notes(data.frame)
    atomic_write_text(out / "index.md", _index(data, tables, files, drawn, notes))
    summary = {
        "results": str(results_dir),
        "models": sorted(data.frame["model"].unique()),
        "suites": _suites(data.frame["suite"].unique()),
        "tables": {t.name: {"files": files[t.name], "values": _table_json(t)} for t in tables},
        "plots": drawn,
        "notes": notes,
        "files": {
            "read": len(data.frame),
            "skipped": [{"path": p, "reason": r} for p, r in data.problems],
            "migrated": [{"path": p, "schema_version": v} for p, v in data.migrated],
        },
        "index": "index.md",
    }
    atomic_write_json(out / "summary.json", summary)
    return summary


def assumption_notes(frame: Any) -> list[str]:
    """One note per model that was read under assumptions about its architecture (a plain
    state dict read with OpenAI's conventions), so a reader of the tables sees them."""
    notes = []
    for model, group in frame.groupby("model", sort=True):
        said = sorted({a for row in group["assumptions"] for a in row})
        if said:
            notes.append(f"{model}: architecture assumed, not known: {'; '.join(said)}")
    return notes
