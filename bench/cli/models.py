"""``bench models``: the nine OpenAI CLIP models, their size, and whether their weights are cached.

Works offline: everything comes from the model registry and the architecture configs, and the
cache state from the files' sha256 markers (nothing is hashed).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

EPILOG = """examples:
  bench models                          # table of the nine models
  bench models --json                   # the same as JSON, for scripts
  bench models ViT-B/32 RN50            # only these (open_clip spellings such as ViT-B-32 work)
  bench models --download ViT-B/32      # fetch and verify the weights into $BENCH_CACHE/models
  bench models --family open_clip       # open_clip's pretrained names (needs bench[open_clip])
  bench models --resolve open_clip:ViT-B-32 --weights ./ViT-B-32.pt
                                        # what bench would evaluate: family, results folder,
                                        # weights sha256, assumptions (nothing is loaded)

Weights are cached under $BENCH_CACHE/models (default ~/.cache/bench/models). Offline, put the
official file there by hand, or give any checkpoint with --weights PATH where a command loads one.
"""

_STATUS = {
    "verified": "yes",
    "unverified": "yes (not yet verified)",
    "partial": "partial download",
    "missing": "no",
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Adds the ``models`` subcommand."""
    parser = subparsers.add_parser(
        "models",
        help="list the CLIP models and whether their weights are cached",
        description="List OpenAI's nine CLIP models: parameters, input resolution, embedding\n"
        "width, and whether the weights are in the cache (with the path, else the URL).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these models (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--family",
        metavar="FAMILY",
        help="list the names one family knows (open_clip: its pretrained weights)",
    )
    parser.add_argument(
        "--resolve",
        metavar="MODEL",
        help="resolve a --model name of any family (with --weights) without loading it",
    )
    parser.add_argument("--weights", metavar="PATH", help="with --resolve: a local weights file")
    parser.add_argument(
        "--download",
        action="store_true",
        help="download the named models' weights (sha256-verified) before listing them",
    )
    parser.set_defaults(func=run)


def model_rows(names: list[str] | None = None) -> list[dict[str, Any]]:
    """One JSON-ready description per model (all nine when ``names`` is empty).

    Raises:
        UnknownNameError: for a name that is not one of the nine.
    """
    from bench.models import hub
    from bench.models.model import get_config

    infos = [hub.get_model_info(n) for n in names] if names else [i for _, i in hub.MODELS.items()]
    rows = []
    for info in infos:
        status = hub.cache_status(info.name)
        path = hub.weights_path(info.name)
        rows.append(
            {
                "name": info.name,
                "aliases": list(info.aliases),
                "config": info.config,
                "parameters": info.parameters,
                "resolution": info.resolution,
                "embed_dim": get_config(info.config).embed_dim,
                "cached": status in ("verified", "unverified"),
                "status": status,
                "path": str(path),
                "url": info.url,
                "sha256": info.sha256,
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    body = [
        [
            r["name"],
            f"{r['parameters'] / 1e6:.1f}M",
            r["resolution"],
            r["embed_dim"],
            _STATUS[r["status"]],
            r["path"] if r["cached"] else r["url"],
        ]
        for r in rows
    ]
    headers = ["model", "params", "resolution", "embed dim", "cached", "weights"]
    return tabulate(body, headers=headers, colalign=("left", "right", "right", "right"))


def run(args: argparse.Namespace) -> int:
    """Lists (and with ``--download`` first fetches) the models; returns the exit code."""
    from bench.errors import BenchError
    from bench.models import hub

    if args.download:
        if not args.names:
            raise BenchError(
                "--download needs the models to fetch, e.g. `bench models --download ViT-B/32` "
                "(each is 0.3-1.7 GB)"
            )
        for name in args.names:
            hub.download(name, progress=True)
    if args.weights and not args.resolve:
        raise BenchError(
            f"--weights {args.weights} needs --resolve MODEL, e.g. `bench models --resolve "
            "open_clip:ViT-B-32 --weights PATH`"
        )
    if args.resolve:
        return _resolve(args.resolve, args.weights, args.json)
    if args.family:
        return _list_family(args.family, args.json)
    rows = model_rows(args.names)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(_table(rows))
        print(f"\nweights cache: {hub.models_dir()} (set BENCH_CACHE to move it)")
        print("\nfamilies (--model FAMILY:NAME; `bench models --family FAMILY` lists names):")
        print(_families_table())
    return 0


def _families_table() -> str:
    from tabulate import tabulate

    from bench.models.resolver import families

    body = [[f.name, f.syntax, f"bench[{f.extra}]" if f.extra else "-", f.summary]
            for f in families()]  # fmt: skip
    return tabulate(body, headers=["family", "names", "extra", "what"])


def _list_family(name: str, as_json: bool) -> int:
    from bench.models.families.base import FAMILIES
    from bench.models.resolver import families

    families()
    names = FAMILIES.get(name).list_names()
    if as_json:
        print(json.dumps({"family": name, "names": names}, indent=2))
    else:
        print("\n".join(names) if names else f"the {name} family lists no names offline")
    return 0


def _resolve(name: str, weights: str | None, as_json: bool) -> int:
    from bench.models import resolve

    handle = resolve(name, weights=weights)
    row = {
        "name": handle.name,
        "family": handle.family,
        "slug": handle.slug,
        "weights_sha256": handle.weights_sha256,
        "assumptions": list(handle.assumptions),
    }
    if as_json:
        print(json.dumps(row, indent=2))
    else:
        for key, value in row.items():
            shown = "; ".join(value) if isinstance(value, list) else value
            print(f"{key}: {shown if shown not in (None, '') else '-'}")
    return 0
