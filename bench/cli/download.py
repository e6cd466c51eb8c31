"""``bench download NAME|all``: fetch what can be fetched, print the steps for the rest."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench.cli.options import add_tasks_dir_argument
from bench.errors import BenchError

SOURCES = ("official", "hf")

EPILOG = """examples:
  bench download cifar10                       # fetch, verify (checksum) and unpack CIFAR-10
  bench download all --data-root /data/bench   # every task; manual ones print their steps
  bench download imagenet                      # prints how to get ImageNet by hand
  BENCH_DATA=/data/bench bench download eurosat
  bench download cifar10 --source hf           # CLIP_benchmark's mirror on the HF hub
                                               # (needs: pip install 'bench[hf]')
  bench download mine --tasks-dir ./my_tasks   # your own task: the files its source.files lists

What is fetched is the task file's source.files (URL, file name, checksum). Downloads resume
from a partial file, are verified against the published checksum before use (a mismatch is
refused and deleted) and are unpacked atomically.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download datasets (or print the manual steps)",
        description="Download a task's dataset into the data root, or print the steps to get it "
        "by hand where it cannot be fetched automatically.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME|all", help="a task name (see `bench tasks`) or all")
    parser.add_argument(
        "--data-root",
        default=None,
        help="where datasets live (default: $BENCH_DATA or ~/.cache/bench/data)",
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="official",
        help="official (default) or hf: the task's CLIP_benchmark webdataset mirror on the "
        "Hugging Face hub (`bench tasks NAME` shows which splits it has and whether they are "
        "the paper's)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    add_tasks_dir_argument(parser)
    parser.set_defaults(func=run)


def manual_steps(task: Any, loader: Any) -> str | None:
    """The task file's manual steps, else a generic loader's file layout, else None."""
    return getattr(task.source, "manual", None) or getattr(loader, "LAYOUT", None)


def fetch_hf(task: Any, data_root: str | None) -> dict[str, Any]:
    """Downloads one task's Hugging Face mirror (``--source hf``).

    Returns:
        ``{"task", "path", "status", "detail"}`` with status ``present`` or ``downloaded``.

    Raises:
        BenchError: no mirror, ``huggingface_hub`` missing, the download failed, or the
            mirror's classes differ from the task's.
    """
    from bench.datasets._hub import fetch_mirror

    target = task.mirror_root(data_root)
    entry = {"task": task.name, "path": str(target), "status": "", "detail": ""}
    if task.mirror is not None and task.data_source(data_root) == "hf-mirror":
        return {**entry, "status": "present"}
    fetch_mirror(task, target)
    detail = ", ".join(f"{s}: {a}" for s, a in task.mirror.splits.items())
    return {**entry, "status": "downloaded", "detail": f"{task.mirror.repo} ({detail})"}


def fetch_task(task: Any, data_root: str | None) -> dict[str, Any]:
    """Downloads one task's data where possible.

    Returns:
        ``{"task", "path", "status", "detail"}`` with status ``present``, ``downloaded``,
        ``manual`` or ``embedded``.

    Raises:
        BenchError: a download failed (names the URL and the path) or a checksum mismatched.
    """
    from bench.datasets import get_loader, loader_names

    loader = get_loader(task.source.loader)
    root = task.data_root(data_root)
    options = task.loader_options(loader)
    entry = {"task": task.name, "path": str(root), "status": "", "detail": ""}
    if "embedded" in getattr(task, "tags", ()):
        return {**entry, "status": "embedded", "detail": "bundled with the package"}
    if loader.is_present(task, root, **options):
        return {**entry, "status": "present"}
    if task.source.files and not hasattr(loader, "download"):
        generic = [n for n in loader_names() if hasattr(get_loader(n), "LAYOUT")]
        raise BenchError(
            f"task {task.name!r}: loader {task.source.loader!r} cannot download, yet the task "
            f"file lists source.files; remove them or use a generic loader: {', '.join(generic)}"
        )
    if hasattr(loader, "download"):
        loader.download(task, root, **options)
        if loader.is_present(task, root, **options):
            return {**entry, "status": "downloaded"}
    steps = manual_steps(task, loader) or "see the task's homepage"
    steps = steps.replace("<data root>", str(root.parent))
    return {**entry, "status": "manual", "detail": steps}


def _line(entry: dict[str, Any]) -> str:
    detail = f": {entry['detail']}" if entry["detail"] else ""
    return f"{entry['task']}: {entry['status']} ({entry['path']}){detail}"


def run(args: argparse.Namespace) -> int:
    from bench.tasks import add_task_dirs, get_task, list_tasks

    add_task_dirs(args.tasks_dir)
    tasks = list_tasks() if args.name == "all" else [get_task(args.name)]
    if args.source == "hf" and args.name == "all":
        tasks = [t for t in tasks if t.mirror is not None]
    fetch = fetch_hf if args.source == "hf" else fetch_task
    entries, failed = [], 0
    for task in tasks:
        try:
            entry = fetch(task, args.data_root)
        except BenchError as e:
            if args.name != "all":
                raise
            failed += 1
            entry = {
                "task": task.name,
                "path": str(task.data_root(args.data_root)),
                "status": "failed",
                "detail": str(e),
            }
        entries.append(entry)
        if not args.json:
            print(_line(entry), flush=True)
    if args.json:
        print(json.dumps(entries, indent=2))
    if failed:
        print(f"bench download: {failed} of {len(tasks)} downloads failed (see above)")
        return 2
    return 0
