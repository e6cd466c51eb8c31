"""Tables of results: models x tasks per suite with the paper's averages, effective robustness,
and the comparison with published numbers; written as Markdown, CSV and LaTeX.

A missing result is shown as missing (:data:`MISSING`) and never averaged in. An average over a
row that lacks some of its tasks is the mean of the tasks present, marked :data:`INCOMPLETE`, and
the CSV gives the count (``n/N``) beside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import robustness
from bench.errors import BenchError
from bench.report.collect import ZERO_SHOT_SUITES
from bench.report.published import SOURCE, openai_name, published_for, published_row

MISSING = "—"
INCOMPLETE = "*"
#: Marks a value computed on partial data (``--allow-partial``: fewer items than expected).
PARTIAL = "†"
SHIFT_SUITES = ("robustness", "robustness-adapt")
SUITE_TITLES = {
    "zero-shot": "zero-shot, prompt ensemble",
    ZERO_SHOT_SUITES["single"]: 'zero-shot, single prompt "a photo of a {}."',
    ZERO_SHOT_SUITES["classname"]: "zero-shot, class name only",
}
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
        partial: Rows x columns, True where the value is on partial data (marked :data:`PARTIAL`).
    """

    name: str
    title: str
    values: pd.DataFrame
    averages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    digits: int = 1
    partial: pd.DataFrame | None = None

    def _partial(self) -> pd.DataFrame:
        if self.partial is None:
            return pd.DataFrame(False, index=self.values.index, columns=self.values.columns)
        mask = self.partial.reindex(index=self.values.index, columns=self.values.columns)
        return mask.fillna(False).astype(bool)

    def average(self, col: str) -> tuple[pd.Series, pd.Series]:
        """The mean over the present cells of an average's columns, and how many were present."""
        cols = [c for c in self.averages[col] if c in self.values.columns]
        sub = self.values[cols] if cols else pd.DataFrame(index=self.values.index)
        return sub.mean(axis=1, skipna=True), sub.notna().sum(axis=1)

    def cells(self) -> pd.DataFrame:
        """Formatted strings: values, then averages (``*`` where a row is incomplete)."""
        fmt = self.values.map(lambda v: _fmt(v, self.digits))
        partial = self._partial()
        fmt = fmt.where(~partial, fmt + PARTIAL)
        for col, members in self.averages.items():
            mean, n = self.average(col)
            total = len(members)
            cols = [c for c in members if c in partial.columns]
            any_partial = partial[cols].any(axis=1) if cols else [False] * len(mean)
            fmt[col] = [
                MISSING
                if k == 0
                else _fmt(m, self.digits) + ("" if k == total else INCOMPLETE) + (PARTIAL * p)
                for m, k, p in zip(mean, n, any_partial, strict=True)
            ]
        return fmt

    def footnotes(self) -> list[str]:
        lines = list(self.notes)
        if self._partial().to_numpy().any():
            lines.append(
                f"Values marked {PARTIAL} are on partial data (a split with fewer items than the "
                "task expects, run with --allow-partial): not comparable with published numbers."
            )
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
        """A ``table`` float: booktabs tabular (model column left-aligned), caption and label."""
        cells = self.cells().map(lambda s: "--" if s == MISSING else s)
        caption = " ".join([self.title + ".", *self.footnotes()])
        return "\n".join(
            [
                "\\begin{table}[t]",
                "\\centering",
                f"\\caption{{{latex_escape(caption)}}}",
                f"\\label{{{self.label}}}",
                _tabulate(cells, "latex_booktabs"),
                "\\end{table}",
                "",
            ]
        )

    @property
    def label(self) -> str:
        """The LaTeX label, ``tab:<name>``."""
        return "tab:" + re.sub(r"[^A-Za-z0-9:-]+", "-", self.name)

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
    align = ("left", *["right"] * len(cells.columns))
    return tabulate(
        rows, headers=[index, *map(str, cells.columns)], tablefmt=fmt, disable_numparse=True,
        colalign=align,
    )  # fmt: skip


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
    "—": "--", "−": "-",
}  # fmt: skip


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped (for captions)."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


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
    if "partial" not in df:
        df = df.assign(partial=False)
        agg, seeded = agg.assign(partial=False), seeded.assign(partial=False)
    means = seeded.groupby(keys, as_index=False).agg(
        value=("value", "mean"), metric=("metric", "first"), metrics=("metrics", "first"),
        partial=("partial", "any"),
    )  # fmt: skip
    cols = [*keys, "value", "metric", "metrics", "partial"]
    out = pd.concat([agg[cols], means], ignore_index=True)
    out["shots"] = out.pop("_shots").where(lambda s: s >= 0)
    return out.sort_values(["model", "suite", "task", "shots"]).reset_index(drop=True)


def _pivot(
    df: pd.DataFrame, index: str | list[str], columns: Sequence[str], values: str = "value"
) -> pd.DataFrame:
    wide = df.pivot_table(index=index, columns="task", values=values, aggfunc="first")
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


def paper_average(tasks: Sequence[str], members: Sequence[str], name: str) -> tuple[str, tuple]:
    """The header and member tasks of an average over a published set of tasks.

    ``Avg 27 (paper)`` only when all of the set's tasks are columns, otherwise
    ``Avg (n of 27)`` over the ``n`` that are: a header never claims more than it averages.
    """
    present = tuple(t for t in members if t in set(tasks))
    if len(present) == len(members):
        return f"Avg {len(members)} ({name})", tuple(members)
    return (
        f"Avg ({len(present)} of {len(members)}{'' if name == 'paper' else ', ' + name})",
        present,
    )


def _task_table(rows: pd.DataFrame, suite: str) -> Table:
    """Models x tasks, with the mean over the tasks shown and the paper's averages: over its 27
    datasets and, for linear probes, over Kornblith et al.'s 12 (Figure 10)."""
    tasks = task_order(rows["task"].unique())
    values = _pivot(rows, "model", tasks)
    paper27 = tuple(task_order(_registered("paper27")))
    averages, notes = {}, []
    if set(tasks) - set(paper27):
        averages["Average"] = tuple(tasks)
        notes.append(f"Average: mean over the {len(tasks)} task(s) shown.")
    if set(paper27) & set(tasks):
        head, members = paper_average(tasks, paper27, "paper")
        averages[head] = members
        notes.append(f"{head}: mean over {len(members)} of the paper's 27 datasets.")
    if suite == "linear-probe" and set(KORNBLITH12) & set(tasks):
        head, members = paper_average(tasks, KORNBLITH12, "Kornblith")
        averages[head] = members
        notes.append(
            f"{head}: mean over {len(members)} of Kornblith et al.'s 12 datasets (Fig. 10)."
        )
    return Table(suite, f"{SUITE_TITLES.get(suite, suite)} (percent)", values, averages, notes)


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
    :data:`TABLE_BUILDERS`; any other suite gets :func:`_task_table`). Values on partial data
    are marked :data:`PARTIAL`."""
    rows = collapse_seeds(df[df["suite"] == suite])
    table = TABLE_BUILDERS.get(suite, _task_table)(rows, suite)
    if not rows.empty and rows["partial"].any():
        marked = rows.assign(partial=rows["partial"].astype(float))
        if suite == "few-shot":
            marked = marked.assign(shots=marked["shots"].fillna(-1).astype(int))
            mask = _pivot(marked, ["model", "shots"], list(table.values.columns), "partial")
            mask.index = pd.Index([f"{m} ({k}-shot)" for m, k in mask.index], name="model")
        else:
            mask = _pivot(marked, "model", list(table.values.columns), "partial")
        table.partial = mask > 0
    return table


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


def prompt_ablation_table(df: pd.DataFrame) -> Table | None:
    """Zero-shot per prompt mode and the gain of the ensemble over the single prompt (Figure 4).

    Rows per model: each mode present (class name, single, ensemble), then ``gain`` (ensemble
    minus single, points) where both exist. Returns None without single-prompt or class-name
    results.
    """
    modes = [("classname", ZERO_SHOT_SUITES["classname"]), ("single", ZERO_SHOT_SUITES["single"]),
             ("ensemble", ZERO_SHOT_SUITES["ensemble"])]  # fmt: skip
    rows = collapse_seeds(df[df["suite"].isin([s for _, s in modes])])
    if not set(rows["suite"]) - {"zero-shot"}:
        return None
    tasks = task_order(rows["task"].unique())
    blocks = []
    for model in sorted(rows["model"].unique()):
        wide = _pivot(rows[rows["model"] == model], "suite", tasks)
        for mode, suite in modes:
            if suite in wide.index:
                blocks.append(wide.loc[suite].rename(f"{model} / {mode}"))
        if {"zero-shot", modes[1][1]} <= set(wide.index):
            gain = wide.loc["zero-shot"] - wide.loc[modes[1][1]]
            blocks.append(gain.rename(f"{model} / gain (ensemble - single)"))
    values = pd.DataFrame(blocks)
    values.index.name = "model / prompts"
    notes = [
        'single: the one prompt "a photo of a {}."; classname: the bare class name; ensemble: '
        "the mean embedding of the task's templates (the default zero-shot result).",
        "gain: ensemble minus single, in points (the paper's Figure 4 ablation). Average: mean "
        "over the tasks shown.",
    ]
    return Table("prompt-ablation", "Prompt ablation: zero-shot by prompt mode (percent)", values,
                 {"Average": tuple(tasks)}, notes)  # fmt: skip
