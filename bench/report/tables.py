"""Tables of results: models x tasks per suite with the paper's averages, effective robustness,
and the comparison with published numbers; written as Markdown, CSV and LaTeX.

A missing result is shown as missing (:data:`MISSING`) and never averaged in. An average over a
row that lacks some of its tasks is the mean of the tasks present, marked :data:`INCOMPLETE`, and
the CSV gives the count (``n/N``) beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import robustness
from bench.errors import BenchError
from bench.report.published import SOURCE, openai_name, published_for, published_row

MISSING = "—"
INCOMPLETE = "*"
SHIFT_SUITES = ("robustness", "robustness-adapt")
# Kornblith et al. (2019)'s 12 datasets, the paper's Figure 10 (left) average.
KORNBLITH12 = (
    "food101", "cifar10", "cifar100", "birdsnap", "sun397", "stanford_cars", "fgvc_aircraft",
    "voc2007", "dtd", "oxford_pets", "caltech101", "flowers102",
)  # fmt: skip


@dataclass
class Table:
    """A table of numbers with average columns.

    Attributes:
        name: File stem (``zero-shot``, ``effective-robustness`` ...).
        title: Heading in the report.
        values: Rows x columns of numbers; NaN is a missing result.
        averages: Average column name -> the columns it averages.
        notes: Lines printed under the table.
        digits: Decimals shown.
    """

    name: str
    title: str
    values: pd.DataFrame
    averages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    digits: int = 1

    def average(self, col: str) -> tuple[pd.Series, pd.Series]:
        """The mean over the present cells of an average's columns, and how many were present."""
        cols = [c for c in self.averages[col] if c in self.values.columns]
        sub = self.values[cols] if cols else pd.DataFrame(index=self.values.index)
        return sub.mean(axis=1, skipna=True), sub.notna().sum(axis=1)

    def cells(self) -> pd.DataFrame:
        """Formatted strings: values, then averages (``*`` where a row is incomplete)."""
        fmt = self.values.map(lambda v: _fmt(v, self.digits))
        for col, members in self.averages.items():
            mean, n = self.average(col)
            total = len(members)
            fmt[col] = [
                MISSING if k == 0 else _fmt(m, self.digits) + ("" if k == total else INCOMPLETE)
                for m, k in zip(mean, n, strict=True)
            ]
        return fmt

    def footnotes(self) -> list[str]:
        lines = list(self.notes)
        if any(self.average(c)[1].lt(len(m)).any() for c, m in self.averages.items()):
            lines.append(
                f"Averages marked {INCOMPLETE} are over the tasks present only (the row lacks "
                f"some); {MISSING} = no result."
            )
        elif self.values.isna().to_numpy().any():
            lines.append(f"{MISSING} = no result.")
        return lines

    def to_markdown(self) -> str:
        body = _tabulate(self.cells(), "github")
        notes = "".join(f"\n{line}\n" for line in self.footnotes())
        return f"{body}\n{notes}"

    def to_latex(self) -> str:
        cells = self.cells().map(lambda s: "--" if s == MISSING else s)
        return _tabulate(cells, "latex_booktabs") + "\n"

    def to_csv(self) -> str:
        out = self.values.copy()
        for col, members in self.averages.items():
            mean, n = self.average(col)
            out[col] = mean.where(n > 0)
            out[f"{col} (tasks)"] = [f"{k}/{len(members)}" for k in n]
        return out.to_csv(float_format=f"%.{self.digits + 2}f", lineterminator="\n")


def _fmt(v: object, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return MISSING
    if isinstance(v, str):
        return v
    text = f"{float(v):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.0"


def _tabulate(cells: pd.DataFrame, fmt: str) -> str:
    index = cells.index.name or ""
    rows = [[str(i), *row] for i, row in zip(cells.index, cells.to_numpy().tolist(), strict=True)]
    return tabulate(
        rows, headers=[index, *map(str, cells.columns)], tablefmt=fmt, disable_numparse=True,
        stralign="right",
    )  # fmt: skip


def collapse_seeds(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, task, suite, shots): the across-seed aggregate where it exists, else
    the mean of the per-seed values."""
    if df.empty:
        return df
    df = df.assign(_shots=df["shots"].fillna(-1).astype(int))
    keys = ["model", "task", "suite", "_shots"]
    agg = df[df["seed"].isna()].drop_duplicates(keys, keep="last")
    seeded = df[df["seed"].notna()]
    seeded = seeded[~seeded.set_index(keys).index.isin(agg.set_index(keys).index)]
    means = seeded.groupby(keys, as_index=False).agg(
        value=("value", "mean"), metric=("metric", "first"), metrics=("metrics", "first")
    )
    out = pd.concat([agg[[*keys, "value", "metric", "metrics"]], means], ignore_index=True)
    out["shots"] = out.pop("_shots").where(lambda s: s >= 0)
    return out.sort_values(["model", "suite", "task", "shots"]).reset_index(drop=True)


def _pivot(df: pd.DataFrame, index: str | list[str], columns: Sequence[str]) -> pd.DataFrame:
    wide = df.pivot_table(index=index, columns="task", values="value", aggfunc="first")
    wide = wide.reindex(columns=list(columns))
    wide.columns.name = None
    return wide.sort_index()


def _registered(tag: str | None = None) -> list[str]:
    """Task names in the registry (with ``tag``); empty if the registry cannot be read."""
    try:
        from bench.tasks import list_tasks

        return [t.name for t in list_tasks(tag)]
    except (ImportError, BenchError):  # presentation only; a broken registry shows elsewhere
        return []


def task_order(tasks: Sequence[str]) -> list[str]:
    """Tasks in the task registry's order (``imagenet`` first), unknown ones sorted last."""
    rank = {n: i for i, n in enumerate(_registered())}
    return sorted(set(tasks), key=lambda t: (t != "imagenet", rank.get(t, len(rank)), t))


def _task_table(rows: pd.DataFrame, suite: str) -> Table:
    """Models x tasks, with the mean over the tasks shown and the paper's averages: over its 27
    datasets and, for linear probes, over Kornblith et al.'s 12 (Figure 10)."""
    tasks = task_order(rows["task"].unique())
    values = _pivot(rows, "model", tasks)
    paper27 = tuple(task_order(_registered("paper27")))
    averages, notes = {}, []
    if set(tasks) != set(paper27):
        averages["Average"] = tuple(tasks)
        notes.append(f"Average: mean over the {len(tasks)} task(s) shown.")
    if set(paper27) & set(tasks):
        averages["Avg 27 (paper)"] = paper27
        notes.append("Avg 27 (paper): mean over the paper's 27 datasets.")
    if suite == "linear-probe" and set(KORNBLITH12) & set(tasks):
        averages["Avg 12 (Kornblith)"] = KORNBLITH12
        notes.append("Avg 12 (Kornblith): mean over Kornblith et al.'s 12 datasets (Fig. 10).")
    return Table(suite, f"{suite} (percent)", values, averages, notes)


def _shift_table(rows: pd.DataFrame, suite: str) -> Table:
    """Models x (ImageNet and the 7 shifts), with the mean over the 7 shifts."""
    present = set(rows["task"])
    tasks = [t for t in ["imagenet", *robustness.SHIFTS] if t in present]
    extra = [t for t in task_order(present) if t not in tasks]
    values = _pivot(rows, "model", tasks + extra)
    head = "zero-shot" if suite == "robustness" else "adapted to ImageNet"
    notes = ["ImageNet-Vid and YouTube-BB: pm-0 (the task's metric)."]
    return Table(suite, f"{suite}: {head} (percent)", values,
                 {"Average (7 shifts)": robustness.SHIFTS}, notes)  # fmt: skip


def _few_shot_table(rows: pd.DataFrame, suite: str) -> Table:
    """(model, shots) x tasks, mean over seeds, with the mean over the tasks shown."""
    tasks = task_order(rows["task"].unique())
    rows = rows.assign(shots=rows["shots"].fillna(-1).astype(int))
    values = _pivot(rows, ["model", "shots"], tasks)
    values.index = pd.Index([f"{m} ({k}-shot)" for m, k in values.index], name="model")
    notes = ["Each cell: the mean over seeds. Average: mean over the tasks shown."]
    return Table(suite, "few-shot (percent)", values, {"Average": tuple(tasks)}, notes)


TABLE_BUILDERS = {"robustness": _shift_table, "robustness-adapt": _shift_table,
                  "few-shot": _few_shot_table}  # fmt: skip


def suite_table(df: pd.DataFrame, suite: str) -> Table:
    """Models x tasks for one suite, with the averages the paper reports (see the builders in
    :data:`TABLE_BUILDERS`; any other suite gets :func:`_task_table`)."""
    rows = collapse_seeds(df[df["suite"] == suite])
    return TABLE_BUILDERS.get(suite, _task_table)(rows, suite)


def shift_points(df: pd.DataFrame, suite: str = "robustness") -> pd.DataFrame:
    """Per model and shift: ``x`` (class-subsampled ImageNet top-1) and ``y`` (shift accuracy).

    ``y`` is the task's value, or ``metrics["pm0"]`` for ImageNet-Vid and YouTube-BB. Rows without
    ``metrics["imagenet_subsampled"]`` have ``x`` NaN.
    """
    rows = collapse_seeds(df[(df["suite"] == suite) & df["task"].isin(robustness.SHIFTS)])
    out = []
    for r in rows.itertuples():
        parts = r.metrics if isinstance(r.metrics, dict) else {}
        x = parts.get("imagenet_subsampled", np.nan)
        y = parts.get("pm0", r.value)
        out.append({"model": r.model, "shift": r.task, "x": float(x), "y": float(y)})
    return pd.DataFrame(out, columns=["model", "shift", "x", "y"])


def effective_robustness_table(df: pd.DataFrame, suite: str = "robustness") -> Table:
    """Effective robustness (points) per model and shift, and the paper's average summary.

    The average column is the effective robustness of the mean over the 7 shifts against the
    ``average`` baseline; it is missing unless all 7 shifts are present (never a partial mean).
    """
    pts = shift_points(df, suite).dropna()
    models = sorted(pts["model"].unique())
    cols = [s for s in robustness.SHIFTS if s in set(pts["shift"])]
    values = pd.DataFrame(np.nan, index=pd.Index(models, name="model"), columns=[*cols, "Average"])
    for r in pts.itertuples():
        values.loc[r.model, r.shift] = robustness.effective_robustness(r.shift, r.x, r.y)
    for m in models:
        mine = pts[pts["model"] == m]
        avg = robustness.average_point({r.shift: (r.x, r.y) for r in mine.itertuples()})
        if avg is not None:
            values.loc[m, "Average"] = robustness.effective_robustness("average", *avg)
    notes = [
        "Effective robustness (points): shift accuracy minus the testbed baseline's prediction "
        "at the model's class-subsampled ImageNet accuracy (logit-space fit, Taori et al. 2020).",
        "Average: the mean over the 7 shifts against the mean class-subsampled ImageNet accuracy, "
        "on the testbed's average baseline; shown only when all 7 shifts are present.",
    ]
    head = "zero-shot" if suite == "robustness" else "adapt to ImageNet"
    return Table(
        f"effective-robustness-{suite}", f"Effective robustness ({head})", values, {}, notes
    )


def published_table(df: pd.DataFrame) -> Table | None:
    """Ours against the published zero-shot numbers, for the models in ``df`` that have a row
    in the published file (:func:`bench.report.published.published_row`: OpenAI's nine and
    open_clip's pretrained models, by name).

    Ours is the zero-shot suite's value, else the robustness suite's (zero-shot head). Returns None
    when no model in ``df`` has published numbers.
    """
    rows = collapse_seeds(df[df["suite"].isin(["zero-shot", "robustness"])])
    rows = rows.assign(label=rows["model"].map(_published_label)).dropna(subset=["label"])
    if rows.empty:
        return None
    rows = rows.sort_values("suite", key=lambda s: s.map({"zero-shot": 0, "robustness": 1}))
    ours = rows.drop_duplicates(["label", "task"], keep="first")
    pubs = {label: published_for(m) for label, m in zip(ours["label"], ours["model"], strict=True)}
    tasks = set(ours["task"]) & {t for p in pubs.values() for t in p["task"]}
    if not tasks:
        return None
    records, sources = [], {}
    for label in sorted(pubs):
        mine = ours[ours["label"] == label].set_index("task")["value"]
        pub = pubs[label].set_index("task")["published"]
        sources[label] = published_row(ours[ours["label"] == label]["model"].iloc[0])
        for task in task_order(tasks):
            pv = float(pub.get(task, np.nan))
            ov = float(mine.get(task, np.nan))
            records.append({"model": label, "task": task, "published": pv, "ours": ov,
                            "difference": ov - pv})  # fmt: skip
    values = pd.DataFrame(records).set_index(["model", "task"])
    values.index = [f"{m} / {t}" for m, t in values.index]
    values.index.name = "model / task"
    notes = [
        f"Published: {SOURCE}; difference = ours - published (points).",
        "Rows of the published file (name, pretrained): "
        + "; ".join(f"{label}: {name}, {tag}" for label, (name, tag) in sources.items())
        + ".",
        "CLIP_benchmark's protocol differs from the paper's for some tasks (e.g. VOC 2007), so a "
        "difference is a comparison, not a verdict.",
    ]
    return Table("published-comparison", "Ours vs published", values, {}, notes)


def _published_label(model: str) -> str | None:
    """The row label of a model with published numbers (OpenAI's name for the nine), else None."""
    if published_row(model) is None:
        return None
    return (
        openai_name(model.removeprefix("openai:")) if not model.startswith("open_clip:") else model
    )
