"""``bench run``: evaluate a model with a suite and write one result file per evaluation."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from tabulate import tabulate

from bench.cli.options import add_compute_arguments, add_tasks_dir_argument, compute_settings
from bench.results import ResultFileError, read_result

EPILOG = """examples:
  bench run --model ViT-B/32 --suite zero-shot --tasks cifar10,cifar100
  bench run --model ViT-L/14 --suite linear-probe --tag paper27 --batch-size 512 --workers 8
  bench run --model RN50 --suite few-shot --tasks digits --device cpu
  bench run --model ViT-B/32 --suite robustness --precision bf16
  bench run --model my-finetune --weights ./ft.pt --suite all --tasks digits --out results/
  bench run --model ./tiny.pt --suite all --tasks digits --force --json
  bench run --model ViT-B/32 --suite zero-shot --tasks cifar10 --prompts single
  bench run --model ViT-L/14@336px --suite retrieval --tasks flickr30k,mscoco
  bench run --model ViT-B/32 --suite linear-probe --tasks cifar10 --decode gpu
  torchrun --nproc_per_node=8 -m bench run --model ViT-L/14 --suite linear-probe --tag paper27

Results go to <out>/<name>/<task>/<suite>[-<variant>][-<k>shot][-seed<s>].json (<name>: --name,
else the model's name or the checkpoint's file stem; <variant>: a --prompts mode other than
ensemble, e.g. zero-shot-single.json, or a --caption-prefix other than the paper's); what is there already is skipped (--force redoes
it). Features are cached under $BENCH_CACHE/features and reused by every suite. A task that
fails (missing data, a NaN, a bad result file) is listed and the others still run (exit 2).

Under torchrun (one node or several through its rendezvous) every rank extracts its share of
each split into the shared feature cache ($BENCH_CACHE must be one folder that all ranks
see); rank 0 then fits the probes and writes the results while the others wait. A rank that
dies fails the run; the same command again resumes from the chunks already written."""


def add_parser(subparsers: Any) -> None:
    """Adds the ``run`` subcommand."""
    p = subparsers.add_parser(
        "run",
        help="evaluate a model: zero-shot, linear probe, few-shot, robustness",
        description="Evaluate a CLIP model with the CLIP paper's protocol and write one JSON "
        "result per (model, task, suite, shots, seed). Work already done is skipped.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model", required=True, help="a model name (`bench models`) or a checkpoint path"
    )
    from bench.suites import suite_names

    p.add_argument("--suite", required=True, help=", ".join(suite_names()))
    which = p.add_mutually_exclusive_group()
    which.add_argument("--tasks", help="comma-separated task names (default: the suite's tasks)")
    from bench.tasks import TAGS, USER_TAG

    tags = ", ".join(t for t in TAGS if t != USER_TAG)
    which.add_argument("--tag", help=f"run the tasks with this tag ({tags})")
    add_compute_arguments(p)
    p.add_argument(
        "--decode",
        default="cpu",
        help="cpu: OpenAI's PIL preprocessing in the loader workers (default); gpu: decode "
        "JPEGs in batches and resize/crop/normalise as tensors on the run's device (its own "
        "feature cache entries; differs from OpenAI's by < 1 pixel level on average)",
    )
    p.add_argument("--out", default="results", help="results folder (default results/)")
    p.add_argument("--force", action="store_true", help="recompute and overwrite existing results")
    p.add_argument(
        "--skip-corrupt",
        action="store_true",
        help="skip images that do not decode and count them in the result (default: stop)",
    )
    p.add_argument(
        "--refresh-features",
        action="store_true",
        help="extract features again even where the cache holds verified ones (--force does too)",
    )
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="evaluate splits with fewer items than the task expects; results are marked partial",
    )
    p.add_argument(
        "--prompts",
        default="ensemble",
        help="zero-shot prompts: ensemble (the task's templates, default), single "
        '("a photo of a {}.") or classname (the bare name); each mode has its own result file',
    )
    p.add_argument(
        "--caption-prefix",
        metavar="TEXT",
        help='retrieval: text put before every caption (default the paper\'s "a photo of "; '
        "'' for none); another prefix has its own result file",
    )
    p.add_argument("--weights", help="checkpoint file to evaluate under the name --model")
    p.add_argument("--name", help="the name results are written under (default: the model's)")
    add_tasks_dir_argument(p)
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs the suite; exit 0, or 2 when some tasks could not run (each is listed)."""
    from bench.distributed import join
    from bench.suites import run_suite
    from bench.suites.runner import ResultsFolderError
    from bench.tasks import add_task_dirs

    add_task_dirs(args.tasks_dir)
    settings = compute_settings(
        args,
        skip_corrupt=args.skip_corrupt,
        refresh_features=args.refresh_features,
        decode=args.decode,
    )
    tasks = args.tasks.split(",") if args.tasks is not None else None
    world = join(settings.device.type)
    try:
        summary = run_suite(
            args.model, args.suite, tasks=tasks, out=args.out, settings=settings,
            model_name=args.name, weights=args.weights, tag=args.tag, prompts=args.prompts,
            caption_prefix=args.caption_prefix,
            world=world,
        )  # fmt: skip
    except ResultsFolderError as e:
        raise ResultsFolderError(
            f"{e}; evaluate it under its own name: {_rerun_with_name(args, e.suggested_name)}",
            e.suggested_name,
        ) from None
    finally:
        world.close()
    if not world.is_main:
        return 0  # rank 0 reports
    rows = [_row(p, "written") for p in summary.written]
    rows += [_row(p, "skipped (done)") for p in summary.skipped if p not in summary.written]
    if args.json:
        print(json.dumps({**summary.to_dict(), "results": rows}, indent=2))
    else:
        _print_human(rows, summary)
    for suite, task, error in summary.failed:
        why = str(error).removeprefix(f"{task}: ")  # the task is named once
        print(f"bench run: error: {suite} {task}: {why}", file=sys.stderr)
    return 2 if summary.failed else 0


_REPLAYED = (
    "model", "weights", "suite", "tasks", "tag", "out", "device", "precision", "batch_size",
    "workers", "data_root", "prompts", "caption_prefix", "decode",
)  # fmt: skip


def _rerun_with_name(args: argparse.Namespace, name: str) -> str:
    """This run's command line with ``--name NAME``, runnable as printed."""
    argv = ["bench", "run"]
    for key in _REPLAYED:
        value = getattr(args, key, None)
        if value is not None:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    for folder in getattr(args, "tasks_dir", None) or []:
        argv += ["--tasks-dir", str(folder)]
    for flag in ("force", "skip_corrupt", "refresh_features", "allow_partial", "json", "quiet"):
        if getattr(args, flag, False):
            argv.append(f"--{flag.replace('_', '-')}")
    return shlex.join([*argv, "--name", name])


def _row(path: Path, status: str) -> dict[str, Any]:
    try:
        r = read_result(path)
    except ResultFileError as e:  # pragma: no cover - we just wrote or validated it
        return {"path": str(path), "status": f"unreadable: {e.reason}"}
    return {
        "path": str(path),
        "status": status,
        "task": r.task,
        "suite": r.suite,
        "shots": r.shots,
        "seed": r.seed,
        "metric": r.metric,
        "value": r.value,
        "top1": r.top1,
        "top5": r.top5,
        "n": r.n,
        "ci": r.ci,
    }


def _print_human(rows: list[dict[str, Any]], summary: Any) -> None:
    if rows:
        table = [
            [
                r.get("task"),
                r.get("suite"),
                "" if r.get("shots") is None else r["shots"],
                _seed(r),
                r.get("metric"),
                _fmt(r.get("value")),
                _fmt(r.get("top1")),
                _fmt(r.get("top5")),
                r["status"],
            ]
            for r in rows
        ]
        headers = ["task", "suite", "shots", "seed", "metric", "value", "top1", "top5", "status"]
        print(tabulate(table, headers=headers, disable_numparse=True))
    for suite, task in summary.not_applicable:
        print(f"note: suite {suite} does not apply to task {task} (skipped)")
    print(f"{len(summary.written)} written, {len(rows) - len(summary.written)} already done")


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _seed(r: dict[str, Any]) -> str:
    if r.get("seed") is not None:
        return str(r["seed"])
    return "mean" if r.get("shots") else ""
