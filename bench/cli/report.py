"""``bench report``: tables and plots of a results folder, with an index.md and a JSON summary."""

from __future__ import annotations

import argparse
import json
from typing import Any

EPILOG = """examples:
  bench report                                        # everything under results/ -> reports/latest/
  bench report --models ViT-B/32 RN50 --out reports/b32-vs-rn50
  bench report --suite zero-shot --suite robustness --results runs/results
  bench report --json                                 # print the JSON summary

Writes <out>/index.md (links every table and plot), <out>/summary.json, <out>/tables/*.{md,csv,tex}
and <out>/plots/*.{png,svg} (PNG at 200 dpi). The same results give byte-identical files. Files that cannot be
read (e.g. a newer schema version) are listed one by one and left out."""


def split_names(values: list[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``; None stays None."""
    if not values:
        return None
    names = [n.strip() for v in values if v for n in v.split(",") if n.strip()]
    return names or None


def add_common(p: argparse.ArgumentParser) -> None:
    """``--results`` and ``--models``, shared with ``bench plot``."""
    p.add_argument("--results", default="results", help="results folder (default results/)")
    p.add_argument(
        "--models", nargs="+", metavar="MODEL", help="models to include (names or folder names)"
    )


def add_parser(subparsers: Any) -> None:
    """Adds the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="tables and plots of a results folder",
        description="Write tables (Markdown, CSV, LaTeX), plots (PNG, SVG), an index.md and a "
        "JSON summary from the result files of `bench run`.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(p)
    p.add_argument(
        "--suite",
        action="append",
        metavar="SUITE",
        help="suite to include (repeatable; zero-shot, linear-probe, few-shot, robustness, "
        "robustness-adapt, retrieval; zero-shot brings its prompt modes zero-shot-single and "
        "zero-shot-classname); default all found",
    )
    p.add_argument("--out", default="reports/latest", help="report folder (default reports/latest)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument(
        "--ci",
        action="store_true",
        help="show each result's 99.5%% interval in the models x tasks tables: value [low, high]",
    )
    p.add_argument("--json", action="store_true", help="print the JSON summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Builds the report; prints where it went and every note (or the JSON summary)."""
    from bench.report import build_report
    from bench.robustness import check_n_boot

    check_n_boot(args.bootstrap)

    summary = build_report(
        args.results,
        args.out,
        models=split_names(args.models),
        suites=split_names(args.suite),
        n_boot=args.bootstrap,
        seed=args.seed,
        ci=args.ci,
    )
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False))
        return 0
    print(f"wrote {args.out}/index.md ({len(summary['tables'])} tables, "
          f"{len(summary['plots'])} plots) from {summary['files']['read']} result files")  # fmt: skip
    for item in summary["files"]["skipped"]:
        print(f"skipped {item['path']}: {item['reason']}")
    for item in summary["files"]["migrated"]:
        print(f"read {item['path']} (schema version {item['schema_version']}, migrated)")
    for note in summary["notes"]:
        print(f"note: {note}")
    return 0
