"""Train-test overlap in reports: a table per results folder and the paper's Figure 17 plot.

Reads ``<results>/<model | no-model>/<task>/overlap.json`` (:mod:`bench.overlap.result`)
only; a file that cannot be read becomes a note, never a silent gap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from bench.overlap.result import FILENAME, OverlapResult, read_overlap
from bench.report.tables import Table
from bench.results import ResultFileError

COLUMNS = ("overlap %", "n overlap", "n test", "all", "clean", "overlap", "difference", "p")


def load(results_dir: str | Path) -> tuple[list[OverlapResult], list[str]]:
    """Every overlap file under ``results_dir`` (sorted by path), and notes on unreadable ones."""
    found, notes = [], []
    for path in sorted(Path(results_dir).rglob(FILENAME)):
        try:
            found.append(read_overlap(path))
        except ResultFileError as e:
            notes.append(f"overlap file skipped: {e}")
    return found, notes


def overlap_table(results: list[OverlapResult]) -> Table | None:
    """One row per (model, task): overlap and zero-shot accuracy on All/Clean/Overlap (percent)."""
    if not results:
        return None
    rows = {}
    for r in results:
        a = r.accuracy or {}
        rows[f"{r.model_slug} / {r.task}"] = [
            r.overlap_percent, r.n_overlap, r.n_test, a.get("all"), a.get("clean"),
            a.get("overlap"), a.get("difference"), a.get("p_two_sided"),
        ]  # fmt: skip
    values = pd.DataFrame.from_dict(rows, orient="index", columns=list(COLUMNS)).astype(float)
    cal = {(r.detector["id"], round(r.detector["threshold"], 4)) for r in results}
    notes = [
        "Train-test overlap (CLIP §5): test images with a near-duplicate in the training set; "
        "accuracy is zero-shot top-1 on All / Clean / Overlap, difference = Overlap - Clean "
        "(points), p = two-sided binomial test of Overlap correct against the Clean accuracy.",
        *(f"detector {d}, threshold {t}" for d, t in sorted(cal)),
    ]
    return Table("overlap", "Train-test overlap", values, notes=notes, digits=2)


def overlap_plot(results: list[OverlapResult], stem: Path) -> list[Path]:
    """Detected overlap (%) against the accuracy difference (points), as the paper's Figure 17."""
    from bench.report.plots import save

    points = [r for r in results if r.accuracy and r.accuracy.get("difference") is not None]
    if not points:
        return []
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot()
    x = np.array([r.overlap_percent for r in points])
    y = np.array([r.accuracy["difference"] for r in points])
    ax.axhline(0, color="grey", lw=0.8)
    ax.scatter(x, y, s=18)
    for r, xi, yi in zip(points, x, y, strict=True):
        ax.annotate(
            f"{r.task} ({r.model_slug})",
            (xi, yi),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.set_xlabel("Detected data overlap (%)")
    ax.set_ylabel("Difference in zero-shot accuracy (points)")
    return save(fig, stem)


def overlap_section(
    results_dir: str | Path, out: Path
) -> tuple[list[Table], dict[str, list[str]], list[str]]:
    """What ``bench report`` adds: the table, the plot's files (relative to ``out``) and notes."""
    results, notes = load(results_dir)
    table = overlap_table(results)
    paths = overlap_plot(results, out / "plots" / "overlap")
    drawn = {"overlap": [p.relative_to(out).as_posix() for p in paths]} if paths else {}
    return ([table] if table is not None else []), drawn, notes
