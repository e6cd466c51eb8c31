"""``bench demo``: train a tiny CLIP offline on synthetic digits, evaluate it, write a report."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace

EPILOG = """examples:
  bench demo                          # reports/demo/: data, training, results, tables, plots
  bench demo --out /tmp/demo          # somewhere else
  bench demo --quick                  # a seconds-long smoke run (zero-shot only, 12 steps)
  bench demo --steps 2400 --json      # train longer; print the summary as JSON

Everything runs offline on the CPU: the training images are drawn in code with fonts, the
evaluation uses scikit-learn's real handwritten digits (bundled with scikit-learn) and a rotated,
noised copy (digits_shifted). Views: zero-shot, linear probe, few-shot curves, zero-shot vs linear
probe, the prompt ablation (where the suites support prompt modes) and an effective-robustness
scatter against a baseline of small supervised models (the paper's Figure 13 in miniature).
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``bench demo``."""
    p = subparsers.add_parser(
        "demo",
        help="train a tiny CLIP offline, evaluate it with every suite, write a report",
        description="Generate captioned digit images, train a tiny CLIP on them on the CPU, "
        "evaluate it on scikit-learn's real digits and a shifted copy with every suite "
        "(zero-shot, linear probe, few-shot), draw its effective robustness against small "
        "supervised models, and write tables and plots. About 1.5 minutes on 2 cores.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="reports/demo", help="output folder (default reports/demo)")
    p.add_argument("--steps", type=int, help="training steps (default: the tiny-digits config's)")
    p.add_argument("--images", type=int, help="synthetic training images (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="seed of data, initialisation and order")
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke setting")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs ``bench demo``; returns the exit code."""
    from bench.demo import QUICK, DemoSettings, run_demo
    from bench.errors import BenchError

    settings = QUICK if args.quick else DemoSettings()
    changes = {k: v for k, v in (("steps", args.steps), ("images", args.images)) if v is not None}
    for key, value in changes.items():
        if value < 1:
            raise BenchError(f"--{key} must be >= 1, got {value}")
    settings = replace(settings, seed=args.seed, **changes)
    summary = run_demo(args.out, settings, progress=not args.json)
    if args.json:
        print(json.dumps(asdict(summary), indent=2))
    else:
        zs = summary.zero_shot.get("digits")
        print(
            f"zero-shot on the real digits: {zs:.1f}% (chance 10%)"
            if zs is not None
            else "zero-shot on the real digits: not computed"
        )
        print(f"wall time {summary.seconds['total']:.0f} s; report: {summary.out}/demo.md")
    return 0
