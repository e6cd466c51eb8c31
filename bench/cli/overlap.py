"""``bench overlap``: train-test overlap of task test splits with a training set (CLIP §5)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench.cli.options import add_compute_arguments, compute_settings

EPILOG = """examples:
  bench overlap --train pairs.csv --tasks cifar10,digits
  bench overlap --train ./images/ --tasks digits --model ./ckpt/step_1000.pt --json
  bench overlap --train shards/ --tasks imagenet --model ViT-B/32 --detector model --device cuda

--train is what `bench train` reads (a CSV/TSV with image paths and captions, parquet, tar
shards, a save_to_disk folder) or a plain folder of images. Results go to
<out>/<model | no-model>/<task>/overlap.json with overlap-pairs.csv and overlap-pairs.png
(the pairs found) beside it. The threshold is calibrated on edited copies of training images
(resize, JPEG, small crop, colour) unless --threshold is given; its precision and recall are
in the result."""


def add_parser(subparsers: Any) -> None:
    """Adds the ``overlap`` subcommand."""
    from bench.overlap.detector import DETECTORS

    p = subparsers.add_parser(
        "overlap",
        help="find test images duplicated in a training set (CLIP paper §5)",
        description="Find each task's test images that have a near-duplicate among training "
        "images; with --model, zero-shot accuracy on the All, Clean and Overlap parts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--train", required=True, help="training pairs (as `bench train`) or an image folder"
    )
    p.add_argument("--tasks", required=True, help="comma-separated task names")
    p.add_argument("--model", help="a model name or checkpoint: adds All/Clean/Overlap accuracy")
    p.add_argument("--weights", help="checkpoint file to evaluate under the name --model")
    p.add_argument(
        "--detector",
        default="thumb",
        help=f"{' or '.join(DETECTORS)} (default thumb: needs no weights)",
    )
    p.add_argument("--threshold", type=float, help="cosine threshold (default: calibrated)")
    p.add_argument(
        "--image-key", default="filepath", help="CSV/TSV image column (default filepath)"
    )
    p.add_argument(
        "--caption-key", default="caption", help="CSV/TSV caption column (default caption)"
    )
    p.add_argument("--out", default="results", help="results folder (default results/)")
    add_compute_arguments(p)
    p.add_argument("--force", action="store_true", help="replace existing overlap results")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="score test splits with fewer items than the task expects (zero-shot accuracy)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs the overlap analysis; prints one line per task (or JSON)."""
    import dataclasses

    from bench.errors import BenchError
    from bench.overlap import load_model, run_overlap
    from bench.suites import resolve_tasks

    tasks = resolve_tasks([t for t in args.tasks.split(",")], None)
    if not tasks:
        raise BenchError(f"--tasks {args.tasks!r} names no task; list them with `bench tasks`")
    if args.threshold is not None and not -1.0 <= args.threshold <= 1.0:
        raise BenchError(f"--threshold {args.threshold} is not a cosine similarity; use -1 .. 1")
    settings = compute_settings(args)
    model = load_model(args.model, args.weights, settings) if args.model else None
    written = run_overlap(
        args.train,
        tasks,
        settings,
        model=model,
        detector=args.detector,
        threshold=args.threshold,
        out=args.out,
        image_key=args.image_key,
        caption_key=args.caption_key,
    )
    if args.json:
        print(json.dumps([{"path": str(p), **dataclasses.asdict(r)} for p, r in written], indent=2))
        return 0
    for path, r in written:
        line = f"{r.task}: {r.n_overlap}/{r.n_test} test images overlap ({r.overlap_percent:.2f}%)"
        if r.accuracy and r.accuracy["difference"] is not None:
            a = r.accuracy
            line += f"; accuracy clean {a['clean']:.1f} overlap {a['overlap']:.1f} (p={a['p_two_sided']:.3g})"
        print(f"{line} -> {path}")
    cal = written[0][1].detector["calibration"] if written else None
    if cal:
        print(
            f"threshold {cal['threshold']:.3f} ({cal['source']}); on {cal['n_positive']}+"
            f"{cal['n_negative']} edited copies: precision {cal['precision']:.3f}, recall {cal['recall']:.3f}"
        )
    return 0
