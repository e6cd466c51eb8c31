"""Tables of results: models x tasks per suite with the paper's averages, effective robustness,
and the comparison with published numbers; written as Markdown, CSV and LaTeX.

A missing result is shown as missing (:data:`MISSING`) and never averaged in. An average over a
row that lacks some of its tasks is the mean of the tasks present, marked :data:`INCOMPLETE`, and
the CSV gives the count (``n/N``) beside it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench import robustness
from bench.errors import BenchError
from bench.report.collect import ZERO_SHOT_SUITES
from bench.report.published import (
    RETRIEVAL_FILE,
    RETRIEVAL_VALUE,
    SOURCE,
    openai_name,
    published_for,
    published_retrieval,
    published_row,
)

MISSING = "—"
INCOMPLETE = "*"
#: Marks a value computed on partial data (``--allow-partial``: fewer items than expected).
PARTIAL = "†"
#: Marks a value read from a Hugging Face mirror whose split differs from the paper's (or is
#: not known to equal it): the task file's ``mirror.splits``, recorded in the result.
MIRROR = "‡"
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
        mirror: Rows x columns, True where the value was read from a mirror split that is not
            the paper's (marked :data:`MIRROR`); ``mirror_notes`` says which, per task.
        intervals: Optional ``(low, high)`` per cell (same index and columns as ``values``);
            shown as ``value [low, high]`` (``bench report --ci``).
    """

    name: str
    title: str
    values: pd.DataFrame
    averages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    digits: int = 1
    partial: pd.DataFrame | None = None
    intervals: pd.DataFrame | None = None
    mirror: pd.DataFrame | None = None
    mirror_notes: list[str] = field(default_factory=list)

    def _mask(self, frame: pd.DataFrame | None) -> pd.DataFrame:
        if frame is None:
            return pd.DataFrame(False, index=self.values.index, columns=self.values.columns)
        mask = frame.reindex(index=self.values.index, columns=self.values.columns)
        return mask.fillna(False).astype(bool)

    def _partial(self) -> pd.DataFrame:
        return self._mask(self.partial)

    def _marks(self) -> list[tuple[pd.DataFrame, str]]:
        return [(self._partial(), PARTIAL), (self._mask(self.mirror), MIRROR)]

    def average(self, col: str) -> tuple[pd.Series, pd.Series]:
        """The mean over the present cells of an average's columns, and how many were present."""
        cols = [c for c in self.averages[col] if c in self.values.columns]
        sub = self.values[cols] if cols else pd.DataFrame(index=self.values.index)
        return sub.mean(axis=1, skipna=True), sub.notna().sum(axis=1)

    def cells(self) -> pd.DataFrame:
        """Formatted strings: values, then averages (``*`` where a row is incomplete)."""
        fmt = self.values.map(lambda v: _fmt(v, self.digits))
        if self.intervals is not None:
            ci = self.intervals.reindex(index=fmt.index, columns=fmt.columns)
            fmt = pd.DataFrame(
                [[self._with_ci(x, c) for x, c in zip(a, b, strict=True)]
                 for a, b in zip(fmt.to_numpy(), ci.to_numpy(), strict=True)],
                index=fmt.index, columns=fmt.columns,
            )  # fmt: skip
        marks = self._marks()
        for mask, sign in marks:
            fmt = fmt.where(~mask, fmt + sign)
        for col, members in self.averages.items():
            mean, n = self.average(col)
            cols = [c for c in members if c in self.values.columns]
            signs = ["".join(sign for mask, sign in marks if cols and mask[cols].loc[i].any())
                     for i in self.values.index]  # fmt: skip
            fmt[col] = [
                MISSING if k == 0
                else _fmt(m, self.digits) + ("" if k == len(members) else INCOMPLETE) + sign
                for m, k, sign in zip(mean, n, signs, strict=True)
            ]  # fmt: skip
        return fmt

    def _with_ci(self, text: str, ci: object) -> str:
        if text == MISSING or not isinstance(ci, tuple):
            return text
        return f"{text} [{_fmt(ci[0], self.digits)}, {_fmt(ci[1], self.digits)}]"

    def footnotes(self) -> list[str]:
        lines = list(self.notes)
        if self.intervals is not None:
            lines.append(
                "[low, high]: the result's 99.5% interval (Clopper-Pearson for accuracy, "
                "a seeded bootstrap over test items for other metrics)."
            )
        if self._partial().to_numpy().any():
            lines.append(
                f"Values marked {PARTIAL} are on partial data (a split with fewer items than the "
                "task expects, run with --allow-partial): not comparable with published numbers."
            )
        if self._mask(self.mirror).to_numpy().any():
            lines.append(
                f"Values marked {MIRROR} were read from the Hugging Face mirror, whose split is "
                f"not the paper's or not known to be ({'; '.join(self.mirror_notes)}): not "
                "comparable with published numbers."
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
    for col, default in (("partial", False), ("mirror", None)):
        if col not in df:
            df = df.assign(**{col: default})
            agg, seeded = agg.assign(**{col: default}), seeded.assign(**{col: default})
    means = seeded.groupby(keys, as_index=False).agg(
        value=("value", "mean"), metric=("metric", "first"), metrics=("metrics", "first"),
        partial=("partial", "any"), mirror=("mirror", "first"),
    )  # fmt: skip
    cols = [*keys, "value", "metric", "metrics", "partial", "mirror"]
    out = pd.concat([agg[cols], means], ignore_index=True)
    out["shots"] = out.pop("_shots").where(lambda s: s >= 0)
    return out.sort_values(["model", "suite", "task", "shots"]).reset_index(drop=True)


def ci_cells(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Models x tasks of ``(low, high)`` from the results' ``ci`` (seed-free results only)."""
    rows = df[df["seed"].isna() & df["ci"].notna()] if "ci" in df else df.iloc[0:0]
    cells = pd.DataFrame(index=sorted(df["model"].unique()), columns=list(columns), dtype=object)
    for r in rows.itertuples():
        if r.task in cells.columns:
            cells.at[r.model, r.task] = (r.ci["low"], r.ci["high"])
    return cells


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


def _retrieval_table(rows: pd.DataFrame, suite: str) -> Table:
    """Models x (task, direction, k): recall at 1, 5 and 10 both ways (the paper's Table 13)."""
    from bench.metrics import RECALL_KS

    parts = [f"{d}_retrieval_R@{k}" for d in ("text", "image") for k in RECALL_KS]
    values = pd.DataFrame(index=pd.Index(sorted(rows["model"].unique()), name="model"))
    for task in task_order(rows["task"].unique()):
        for part in parts:
            col = f"{task} {part.replace('_retrieval_', ' ')}"
            values[col] = [_part(rows, model, task, part) for model in values.index]
    notes = ["Zero-shot retrieval recall (percent): text = image query, image = text query; "
             "every caption counts (5 per image)."]  # fmt: skip
    return Table(suite, f"{suite}: zero-shot image-text retrieval (percent)", values, {}, notes)


def _part(rows: pd.DataFrame, model: str, task: str, part: str) -> float:
    hit = rows[(rows["model"] == model) & (rows["task"] == task)]
    return float(hit["metrics"].iloc[0].get(part, np.nan)) if len(hit) else np.nan


TABLE_BUILDERS = {"robustness": _shift_table, "robustness-adapt": _shift_table,
                  "few-shot": _few_shot_table, "retrieval": _retrieval_table}  # fmt: skip


def suite_table(df: pd.DataFrame, suite: str, ci: bool = False) -> Table:
    """Models x tasks for one suite, with the averages the paper reports (see the builders in
    :data:`TABLE_BUILDERS`; any other suite gets :func:`_task_table`). Values on partial data
    are marked :data:`PARTIAL`; with ``ci`` a models x tasks table shows each result's
    interval."""
    rows = collapse_seeds(df[df["suite"] == suite])
    table = TABLE_BUILDERS.get(suite, _task_table)(rows, suite)
    if ci and suite not in TABLE_BUILDERS:
        table.intervals = ci_cells(df[df["suite"] == suite], list(table.values.columns))
    columns = list(table.values.columns)
    table.partial = _flag_mask(rows, suite, columns, rows["partial"] if not rows.empty else None)
    if not rows.empty:
        caveat = rows["mirror"]
        table.mirror = _flag_mask(rows, suite, columns, caveat.notna())
        table.mirror_notes = sorted(
            {f"{t}: {c}" for t, c in zip(rows["task"], caveat, strict=True) if isinstance(c, str)}
        )
    return table


def _flag_mask(
    rows: pd.DataFrame, suite: str, columns: list[str], flag: pd.Series | None
) -> pd.DataFrame | None:
    """Rows x columns of the table, True where ``flag`` is set on the result behind a cell."""
    if flag is None or not flag.any():
        return None
    marked = rows.assign(_flag=flag.astype(float))
    if suite == "few-shot":
        marked = marked.assign(shots=marked["shots"].fillna(-1).astype(int))
        mask = _pivot(marked, ["model", "shots"], columns, "_flag")
        mask.index = pd.Index([f"{m} ({k}-shot)" for m, k in mask.index], name="model")
    else:
        mask = _pivot(marked, "model", columns, "_flag")
    return mask > 0


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
    """Ours against the published numbers, for the models in ``df`` that have them.

    Classification: ours is the zero-shot suite's value, else the robustness suite's (zero-shot
    head), against the row of the published file
    (:func:`bench.report.published.published_row`: OpenAI's nine and open_clip's pretrained
    models, by name). Retrieval (OpenAI's models): each recall part against
    ``clip_paper_retrieval.csv`` (the paper's Table 13, CLIP_benchmark's R@5). ``in CI`` says
    whether the published number lies inside our result's 99.5% interval (for the result's own
    value only: its parts have no interval). Returns None when no model has published numbers.
    """
    rows = collapse_seeds(df[df["suite"].isin(["zero-shot", "robustness"])])
    rows = rows.assign(label=rows["model"].map(_published_label)).dropna(subset=["label"])
    records, sources = _classification_records(df, rows)
    records += _retrieval_records(df)
    if not records:
        return None
    values = pd.DataFrame(records).set_index("model / task")
    notes = [
        f"Published: {SOURCE}; retrieval: {RETRIEVAL_FILE} (the paper's Table 13 and "
        "CLIP_benchmark's R@5, which prepends no caption prompt); difference = ours - "
        "published (points).",
        "in CI: whether the published value lies inside our 99.5% interval (Clopper-Pearson or "
        f"bootstrap, as the result records); {MISSING} where the number has no interval.",
        "CLIP_benchmark's protocol differs from the paper's for some tasks (e.g. VOC 2007), so a "
        "difference is a comparison, not a verdict.",
    ]
    labels = " ".join(r["model / task"] for r in records)
    if PARTIAL in labels:
        notes.append(f"{PARTIAL}: our result is on partial data (--allow-partial).")
    if MIRROR in labels:
        notes.append(f"{MIRROR}: our result read a Hugging Face mirror split that is not the "
                     "paper's, or not known to be (the task file's mirror.splits).")  # fmt: skip
    if sources:
        notes.insert(1, "Rows of the published file (name, pretrained): "
                     + "; ".join(f"{lb}: {name}, {tag}" for lb, (name, tag) in sources.items())
                     + ".")  # fmt: skip
    return Table("published-comparison", "Ours vs published", values, {}, notes)


def _in_ci(ci: object, published: float) -> str:
    if not isinstance(ci, dict) or math.isnan(published):
        return MISSING
    return "yes" if ci["low"] <= published <= ci["high"] else "no"


def _record(label: str, published: float, ours: float, ci: object) -> dict:
    return {"model / task": label, "published": published, "ours": ours,
            "difference": ours - published, "in CI": _in_ci(ci, published)}  # fmt: skip


def _ci_of(df: pd.DataFrame, row: pd.DataFrame) -> object:
    """The ``ci`` of the seed-free result behind a collapsed row."""
    if row.empty:
        return None
    r = row.iloc[0]
    hit = df[(df["suite"] == r["suite"]) & (df["model"] == r["model"])
             & (df["task"] == r["task"]) & df["seed"].isna()]  # fmt: skip
    return hit["ci"].iloc[0] if len(hit) else None


def _classification_records(df: pd.DataFrame, rows: pd.DataFrame) -> tuple[list[dict], dict]:
    if rows.empty:
        return [], {}
    rows = rows.sort_values("suite", key=lambda s: s.map({"zero-shot": 0, "robustness": 1}))
    ours = rows.drop_duplicates(["label", "task"], keep="first")
    pubs = {label: published_for(m) for label, m in zip(ours["label"], ours["model"], strict=True)}
    tasks = set(ours["task"]) & {t for p in pubs.values() for t in p["task"]}
    records, sources = [], {}
    for label in sorted(pubs) if tasks else []:
        mine = ours[ours["label"] == label]
        pub = pubs[label].set_index("task")["published"]
        sources[label] = published_row(mine["model"].iloc[0])
        for task in task_order(tasks):
            o = mine[mine["task"] == task]
            ov = float(o["value"].iloc[0]) if len(o) else np.nan
            pv = float(pub.get(task, np.nan))
            marks = _row_marks(o.iloc[0]) if len(o) else ""
            records.append(_record(f"{label} / {task}{marks}", pv, ov, _ci_of(df, o)))
    return records, sources


def _retrieval_records(df: pd.DataFrame) -> list[dict]:
    rows = df[(df["suite"] == "retrieval") & df["seed"].isna()]
    names = rows["model"].map(lambda m: openai_name(m.removeprefix("openai:")))
    rows = rows.assign(openai=names).dropna(subset=["openai"])
    pub = published_retrieval()
    records = []
    for r in rows.sort_values(["openai", "task"]).itertuples():
        for p in pub[(pub["model"] == r.openai) & (pub["task"] == r.task)].itertuples():
            own = p.metric == RETRIEVAL_VALUE
            ours = float(r.value) if own else float(r.metrics.get(p.metric, np.nan))
            source = "paper" if p.source.startswith("Radford") else "CLIP_benchmark"
            label = f"{r.openai} / {r.task} {p.metric} ({source}){_row_marks(r._asdict())}"
            records.append(_record(label, float(p.published), ours, r.ci if own else None))
    return records


def _row_marks(row: Mapping[str, Any] | pd.Series) -> str:
    """:data:`PARTIAL` and :data:`MIRROR` for a result row on partial or mirror-split data."""
    partial, mirror = row.get("partial", False), row.get("mirror", None)
    partial = bool(partial) if isinstance(partial, bool | np.bool_) else False
    return (PARTIAL if partial else "") + (MIRROR if isinstance(mirror, str) else "")


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
