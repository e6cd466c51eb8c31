"""``bench train``: contrastive training of a CLIP model on image-caption pairs."""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """examples:
  bench train --config tiny-digits --set data=pairs.csv          # a packaged example config
  bench train --config my.yaml --set steps=2000 --set lr=1e-3 --set grad_clip=1.0
  bench train --config my.yaml --resume                         # continue from the latest checkpoint
  bench train --config my.yaml --resume runs/x/checkpoints/step_00001000.pt
  bench train --config my.yaml --print-config                   # the resolved config, then exit
  torchrun --nproc_per_node=8 -m bench train --config my.yaml    # one process per GPU (DDP)

data (set with data=..., format detected from the path or set with data_format=...):
  CSV/TSV with columns filepath,caption (image_key / caption_key to rename)
  WebDataset tar shards: a .tar, a folder of them, a glob or shards/{00000..00099}.tar
  Hugging Face dataset: a save_to_disk folder, or a .parquet/.jsonl file (hf_image_column, ...)

the run folder (output_dir) gets config.yaml, log.jsonl (one JSON record per log step) and
checkpoints/step_<S>.pt (OpenAI's state-dict layout: `bench run --model <that file>` reads it)
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``bench train``."""
    p = subparsers.add_parser(
        "train",
        help="train a CLIP model contrastively (one CPU to many GPUs via torchrun)",
        description="Contrastive (CLIP) training of the in-repo encoders on image-caption pairs: "
        "symmetric InfoNCE loss with a learnable temperature, AdamW, warm-up + cosine schedule, "
        "exact resume, optional zero-shot evaluation during training.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", help="YAML/JSON training config, or a packaged config's name")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (value read as YAML); repeatable",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="CHECKPOINT",
        help="continue from the latest checkpoint in output_dir, or from CHECKPOINT",
    )
    p.add_argument("--print-config", action="store_true", help="print the resolved config, exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the run's summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs ``bench train``; returns the exit code."""
    import yaml

    from bench.train.config import load_config, to_dict

    config = load_config(args.config, args.overrides)
    if args.print_config:
        print(yaml.safe_dump(to_dict(config), sort_keys=False), end="")
        return 0
    from bench.train.loop import train

    result = train(config, resume=args.resume, progress=not args.no_progress)
    summary = {
        "step": result.step,
        "checkpoint": str(result.checkpoint),
        "log": str(result.log),
        "loss": result.loss,
        "samples_per_s": round(result.samples_per_s, 2),
        "skipped_samples": result.skipped,
        "eval": result.eval,
    }
    if _is_main():
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            line = (
                f"trained to step {result.step}: loss {result.loss:.4f}, "
                f"{result.samples_per_s:.1f} samples/s, {result.skipped} samples skipped"
            )
            if result.eval:
                ev = result.eval
                line += f"; zero-shot {ev['task']} {ev['metric']} {ev['value']:.2f}%"
            print(line, file=sys.stdout)
            print(f"checkpoint: {result.checkpoint}\nlog: {result.log}")
    return 0


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
