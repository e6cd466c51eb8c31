"""The ``bench`` command line: one module per subcommand.

Each module in :data:`COMMANDS` defines ``add_parser(subparsers)`` that adds its subparser
and sets ``func`` (called with the parsed namespace, returns an exit code). A
:class:`~bench.errors.BenchError`, or an ``OSError`` (permissions, disk full, a file where a
folder should be), becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bench import __version__
from bench.errors import BenchError
from bench.io import os_error

# Order is the order shown in `bench --help`.
COMMANDS = (
    "models",
    "tasks",
    "download",
    "run",
    "results",
    "report",
    "plot",
    "train",
    "demo",
    "overlap",
)

EPILOG = """examples:
  bench demo                                   # train a tiny CLIP offline, evaluate it, write a report
  bench models                                 # the nine OpenAI CLIP models and whether they are cached
  bench tasks --tag paper27                    # the paper's 27 datasets
  bench run --model ViT-B/32 --suite zero-shot --tasks cifar10,cifar100
  bench run --model ViT-L/14 --suite linear-probe
  bench report                                 # tables and plots from results/
"""


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage already; keep its message to one line plus usage."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bench",
        description="Evaluate CLIP-style models with the CLIP paper's protocol.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"bench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"bench.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"bench.cli.{name}":
                continue  # command not built yet
            raise
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bench`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BenchError as e:
        print(f"bench {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a user's file system said no (permissions, space, a file in the way)
        where = e.filename or "a file"
        print(f"bench {args.command}: error: {os_error(where, e, 'use')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
