"""``bench plot KIND``: draw one plot from a results folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.cli.report import add_common, split_names

EPILOG = """kinds:
  effective-robustness   shift vs (class-subsampled) ImageNet accuracy on logit axes, with the
                         ImageNet testbed's baseline fit, its bootstrap 95% band and y = x
  few-shot               accuracy vs labelled examples per class, with the zero-shot level
  zs-vs-lp               zero-shot minus linear-probe score per dataset, sorted bars
  prompt-ablation        gain of the prompt ensemble over the single prompt per dataset
                         (needs zero-shot results run with --prompts single as well)

examples:
  bench plot effective-robustness --models ViT-B/32 RN50
  bench plot effective-robustness --shift imagenet_r --shift objectnet --out plots/er
  bench plot effective-robustness --head adapt-imagenet
  bench plot few-shot --tasks cifar10,eurosat --format svg
  bench plot zs-vs-lp --results runs/results --out figs/fig5

Writes <out>.png (200 dpi) and <out>.svg (default plots/<kind>); the same results give identical
files."""


def add_parser(subparsers: Any) -> None:
    """Adds the ``plot`` subcommand."""
    p = subparsers.add_parser(
        "plot",
        help="draw one plot (effective-robustness, few-shot, zs-vs-lp, prompt-ablation)",
        description="Draw one plot from the result files of `bench run`.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "kind", metavar="KIND", help="effective-robustness, few-shot, zs-vs-lp or prompt-ablation"
    )
    add_common(p)
    p.add_argument("--tasks", help="comma-separated tasks (few-shot, zs-vs-lp, prompt-ablation)")
    p.add_argument(
        "--shift", action="append", help="shift panel to draw (repeatable; default average + 7)"
    )
    p.add_argument(
        "--head",
        default="zero-shot",
        help="effective-robustness: zero-shot (default) or adapt-imagenet",
    )
    p.add_argument("--format", default="png,svg", help="png, svg or both (default png,svg)")
    p.add_argument("--out", help="output path without extension (default plots/<kind>)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Draws the plot; prints the files written and why any fit is absent."""
    from bench.report.collect import collect, select
    from bench.report.plots import PLOTS, PlotRequest
    from bench.robustness import check_n_boot

    check_n_boot(args.bootstrap)

    fn = PLOTS.get(args.kind)
    data = select(collect(args.results), split_names(args.models))
    for note in data.notes():
        print(note)
    req = PlotRequest(
        tasks=tuple(split_names([args.tasks]) or ()) or None,
        shifts=tuple(split_names(args.shift) or ()) or None,
        head=args.head,
        n_boot=args.bootstrap,
        seed=args.seed,
        formats=tuple(split_names([args.format]) or ()),
    )
    out = Path(args.out) if args.out else Path("plots") / PLOTS.canonical(args.kind)
    result = fn(data.frame, out, req)
    for path in result.paths:
        print(f"wrote {path} ({result.size[0]}x{result.size[1]} px)" if path.suffix == ".png"
              else f"wrote {path}")  # fmt: skip
    for note in result.notes:
        print(f"note: {note}")
    return 0
