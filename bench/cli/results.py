"""``bench results``: list the result files in a results folder."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tabulate import tabulate

from bench.results import SCHEMA_VERSION, load_results

EPILOG = """examples:
  bench results                       # every result under results/
  bench results --out runs/results    # another folder
  bench results --json                # machine-readable, with per-file problems

Files that cannot be read (another schema version with no migration, broken JSON, a field of
the wrong type) are listed with the exact reason on stderr (and under "problems" with --json);
they are never rewritten by this command."""


def add_parser(subparsers: Any) -> None:
    """Adds the ``results`` subcommand."""
    p = subparsers.add_parser(
        "results",
        help="list the results in a results folder",
        description="List the evaluation results (one JSON file per model, task, suite, shots "
        f"and seed; schema version {SCHEMA_VERSION}) in a results folder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="results", help="results folder (default results/)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Prints the listing; exit 0 (problems are reported, not fatal)."""
    found = load_results(args.out)
    if args.json:
        payload = {
            "results": [{"path": str(p), **r.to_dict()} for p, r in found.results],
            "problems": [{"path": str(p), "reason": why} for p, why in found.problems],
        }
        print(json.dumps(payload, indent=2))
        return 0
    found.results.sort(key=lambda pr: _order(pr[1]))
    if found.results:
        print(
            tabulate([_row(r) for _, r in found.results], headers=_HEADERS, disable_numparse=True)
        )
    else:
        print(f"no results under {args.out}")
    for path, why in found.problems:
        print(f"bench results: cannot read {path}: {why}", file=sys.stderr)
    return 0


_HEADERS = ["model", "task", "suite", "shots", "seed", "metric", "value", "top1", "top5", "created"]


def _row(r: Any) -> list[Any]:
    seed = r.seed if r.seed is not None else ("mean" if r.shots else "")
    if r.aggregate:
        value = f"{r.value:.2f} ± {r.aggregate['std']:.2f}"
    else:
        value = f"{r.value:.2f}"
    return [
        r.model,
        r.task,
        r.suite,
        "" if r.shots is None else r.shots,
        seed,
        r.metric,
        value,
        "-" if r.top1 is None else f"{r.top1:.2f}",
        "-" if r.top5 is None else f"{r.top5:.2f}",
        r.created,
    ]


def _order(r: Any) -> tuple:
    return (
        r.model,
        r.task,
        r.suite,
        -1 if r.shots is None else r.shots,
        -1 if r.seed is None else r.seed,
    )
