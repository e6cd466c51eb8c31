"""``bench tasks``: list the evaluation tasks, or show one in full."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tabulate import tabulate

from bench.cli.options import add_tasks_dir_argument
from bench.errors import UnknownNameError
from bench.tasks import TAGS, Task, add_task_dirs, broken_tasks, get_task, list_tasks

EPILOG = """examples:
  bench tasks                      # every task: classes, metric, split sizes, data present?
  bench tasks --tag paper27        # the paper's 27 datasets (also: shifts, embedded)
  bench tasks --json               # the same, as JSON
  bench tasks cifar10              # one task in full: classes, templates, splits, source
  bench tasks fer2013 --json
  bench tasks --tasks-dir ./my_tasks   # also your own task files (or $BENCH_TASKS_PATH)
"""


def add_parser(subparsers: Any) -> None:
    """Adds the ``tasks`` subcommand."""
    p = subparsers.add_parser(
        "tasks",
        help="list the evaluation tasks, or show one",
        description="List the evaluation tasks (name, classes, metric, split sizes, whether "
        "the data is present under the data root), or show one task in full.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", nargs="?", help="show this task in full")
    p.add_argument("--tag", choices=TAGS, help="only tasks with this tag")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--data-root", help="where datasets live (default: $BENCH_DATA or ~/.cache/bench/data)"
    )
    add_tasks_dir_argument(p)
    p.set_defaults(func=run)


def present(task: Task, root: str | None) -> bool | None:
    """Whether the task's data is on disk; None when its loader is not available."""
    try:
        return task.is_present(root)
    except UnknownNameError:
        return None


def _present_text(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "no loader"}[value]


def data_status(task: Task, root: str | None) -> str:
    """``yes`` (every split has the expected size), ``partial (n of N)`` items, ``no``, or
    ``no loader``. Counting lists the splits' items; no image is decoded."""
    from bench.errors import BenchError

    found = present(task, root)
    if not found:
        return _present_text(found)
    expected = task.expected_sizes()
    fold = 0 if task.probe_folds > 1 else None
    n = 0
    for split in expected:
        try:
            n += len(task.dataset(split, root=root, fold=None if split == "test" else fold))
        except BenchError:  # a split that cannot be opened counts as empty
            pass
    total = sum(expected.values())
    return "yes" if n == total else f"partial ({n:,} of {total:,})"


def summary(task: Task, root: str | None) -> dict[str, Any]:
    """One row of the listing."""
    return {
        "name": task.name,
        "title": task.title,
        "tags": list(task.tags),
        "num_classes": task.num_classes,
        "metric": task.metric,
        "splits": dict(task.splits),
        "sizes": task.expected_sizes(),
        "val": "official" if task.val and task.val.official else ("carved" if task.val else None),
        "present": present(task, root),
        "data": data_status(task, root),
    }


def _table(rows: list[dict[str, Any]]) -> str:
    body = [
        [
            r["name"],
            f"{r['num_classes']:,}",
            r["metric"],
            f"{r['sizes']['train']:,}" if "train" in r["sizes"] else "-",
            f"{r['sizes']['val']:,} ({r['val']})" if r["val"] else "-",
            f"{r['sizes']['test']:,}",
            r["data"],
            ",".join(r["tags"]),
        ]
        for r in rows
    ]
    headers = ["name", "classes", "metric", "train", "val", "test", "data", "tags"]
    return tabulate(
        body,
        headers=headers,
        disable_numparse=True,
        colalign=("left", "right", "left", "right", "right", "right", "left", "left"),
    )


def describe(task: Task, root: str | None) -> str:
    """The full text view of one task."""
    d = task.to_dict()
    val = task.val
    lines = [
        f"{task.name}: {task.title} (version {task.version}, config {task.config_hash[:12]})",
        f"tags:        {', '.join(task.tags)}",
        f"metric:      {task.metric}" + (" (multi-label)" if task.multilabel else ""),
        f"splits:      {d['splits']} (paper)"
        + ("" if d["source_splits"] == d["splits"] else f"; ours {d['source_splits']}"),
        f"sizes:       {d['sizes']}"
        + (f" per fold, {task.probe_folds} folds" if task.probe_folds > 1 else ""),
        "val:         "
        + (
            "none (test only)"
            if val is None
            else ("official" if val.official else f"carved from train, seed {val.seed}")
        ),
        f"data:        {data_status(task, root)} ({task.data_root(root)})",
        f"loader:      {task.source.loader} {dict(task.source.options) or ''}".rstrip(),
        f"homepage:    {task.source.homepage}",
    ]
    if task.origin != "built-in":
        lines.append(f"file:        {task.origin}")
    if task.mirror is not None:
        splits = ", ".join(f"{s} {a}" for s, a in task.mirror.splits.items())
        note = f"; {task.mirror.notes}" if task.mirror.notes else ""
        lines.append(f"mirror:      {task.mirror.repo} ({splits} as the paper's){note}")
    if task.source.manual:
        lines.append(f"manual:      {task.source.manual}")
    lines += [f"citation:    {task.citation}", f"licence:     {task.licence}"]
    if task.notes:
        lines.append(f"notes:       {task.notes}")
    lines.append(f"classes ({task.num_classes}):")
    for i, names in enumerate(task.class_prompts):
        pool = (
            ""
            if task.imagenet_pool is None
            else f"  <- ImageNet {list(task.imagenet_pool[i]) or '-inf'}"
        )
        lines.append(f"  {i:4d}  {' | '.join(names)}{pool}")
    lines.append(f"templates ({len(task.templates)}):")
    lines += [f"  {t}" for t in task.templates]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Prints the listing or one task; returns the exit code."""
    add_task_dirs(args.tasks_dir)
    if args.name:
        task = get_task(args.name)
        if args.json:
            print(
                json.dumps(
                    {**task.to_dict(), "present": present(task, args.data_root)},
                    indent=2,
                    ensure_ascii=False,
                )
            )
        else:
            print(describe(task, args.data_root))
        return 0
    rows = [summary(t, args.data_root) for t in list_tasks(args.tag)]
    broken = broken_tasks() if args.tag in (None, "user") else {}
    if args.json:
        rows += [{"name": n, "broken": reason} for n, reason in broken.items()]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(_table(rows))
        for name, reason in broken.items():
            print(f"{name}: broken: {reason}")
    return 0
