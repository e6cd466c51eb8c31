"""One prepared GPU benchmark: every throughput figure of bench next to its bound and target.

Sections (each under a time cap, the whole under ``--budget`` seconds, < 4 minutes on one
H100/H200 by default):

* ``image``: ViT-B/32 and ViT-L/14 image features/s through bench's extraction loop
  (``bench.features.make_loader`` + ``encode_chunks``): from preprocessed tensors (fp16, bf16),
  from JPEG files decoded by PIL in ``--workers`` loader processes (OpenAI's preprocessing), and
  from JPEG files decoded on the GPU (``--decode gpu``); each against the FLOP bound (peak /
  FLOPs per image, counted by ``benchmarks/extract_throughput.py``).
* ``text``: text features/s building ImageNet's zero-shot classifier (1,000 classes x 80
  templates, ``bench.protocols.zero_shot.build_classifier``, tokenisation included).
* ``probe``: the linear probe's C search on a synthetic ImageNet-sized problem (1,281,167 x 768,
  1,000 classes; 50,000 val): seconds per L-BFGS iteration, and the search (``parametric_search``
  with warm starts, as ``search_C``) until its cap; fits left when the cap is hit are projected
  from the mean fit time and the row says so.
* ``train``: contrastive training samples/s and MFU of ViT-B/32 in bf16
  (``benchmarks/train_throughput.py``).

Random weights and synthetic data: throughput does not depend on them. The JPEGs are 500x375
(ImageNet's typical size), 64 distinct files hard-linked many times, so they are read from the
page cache: the figure is decoding's, not the disk's.

``--quick`` runs every section at tiny sizes (tiny-vit, a few hundred images, a 4,000 x 64
probe) on the CPU in well under a minute; CI runs it so that the script keeps working.

Example::

    python benchmarks/gpu.py                      # one GPU, < 4 minutes
    python benchmarks/gpu.py --quick --json-out /tmp/gpu.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_throughput  # noqa: E402
from extract_throughput import (  # noqa: E402
    TensorImages,
    measure_model_only,
    peak_flops,
    vit_flops_per_image,
    write_jpegs,
)

from bench.datasets._common import file_dataset  # noqa: E402
from bench.features import encode_chunks, make_loader  # noqa: E402
from bench.models import CLIP, ClipModel, get_config, image_transform  # noqa: E402
from bench.probe import INITIAL_STEP, LinearProbe, c_grid, parametric_search  # noqa: E402
from bench.protocols.zero_shot import build_classifier  # noqa: E402
from bench.settings import default_workers  # noqa: E402

TARGETS = {
    "jpeg": ("ViT-B/32 from JPEG >= 5,000 img/s", 5000.0),
    "tensors": ("tensors >= 50% of the bf16 bound", 0.5),
    "search": ("ImageNet-sized C search < 600 s", 600.0),
}
FULL = {"models": ("ViT-B-32", "ViT-L-14"), "batch": 512, "row_s": 6.0, "classes": 1000,
        "n": 1_281_167, "d": 768, "k": 1000, "n_val": 50_000, "probe_s": 60.0,
        "train_model": "ViT-B-32", "train_batch": 256, "train_steps": 8}  # fmt: skip
QUICK = {"models": ("tiny-vit",), "batch": 16, "row_s": 0.3, "classes": 2,
         "n": 1000, "d": 32, "k": 5, "n_val": 200, "probe_s": 1.0,
         "train_model": "tiny-vit", "train_batch": 4, "train_steps": 1}  # fmt: skip
#: Seconds kept for the training section when the probe's cap is set.
TRAIN_RESERVE_S = 20.0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_extraction(model, loader, device, precision, cap_s, resolution=0) -> dict[str, float]:
    """Images/s of bench's encode loop over ``loader``, stopping at the first chunk past
    ``cap_s`` seconds (each chunk ends with a copy to the host: the device has finished)."""
    t0, n = time.perf_counter(), 0
    for chunk in encode_chunks(model, loader, start=0, device=device, precision=precision,
                               chunk_batches=2, resolution=resolution):  # fmt: skip
        n += chunk["embedding"].shape[0]
        if time.perf_counter() - t0 > cap_s:
            break
    seconds = time.perf_counter() - t0
    return {"images": n, "seconds": seconds, "per_s": n / seconds}


def image_rows(name: str, cfg, device, peak: float, p: dict, jpegs: list, workers: int) -> list:
    """Tensor (fp16, bf16), CPU-decoded and GPU-decoded JPEG rows for one model."""
    torch.manual_seed(0)
    with torch.device(device):  # initialised on the device: ViT-L/14 on a CPU takes long
        clip = CLIP(cfg).eval()
    model = ClipModel(clip, name, weights_sha256="benchmark")
    bound = peak / vit_flops_per_image(cfg)
    res, rows = cfg.image_resolution, []
    for precision in ("fp16", "bf16"):  # preprocessed tensors already on the device
        probe = argparse.Namespace(batch_size=p["batch"], count=p["batch"])
        rate = measure_model_only(clip, probe, device, precision, res)["images_per_s"]
        probe.count = max(p["batch"], int(rate * p["row_s"]))
        r = measure_model_only(clip, probe, device, precision, res)
        rows.append(_image_row(name, "tensors", precision, r, bound, 0))
    warm = make_loader(TensorImages(p["batch"], res), None, batch_size=p["batch"], workers=0,
                       device=device)  # fmt: skip
    timed_extraction(model, warm, device, "fp16", 0.0)  # warm-up: kernels, autotuning
    data = file_dataset(jpegs, [0] * len(jpegs))
    for kind, encoded in (("jpeg, cpu decode", False), ("jpeg, gpu decode", True)):
        loader = make_loader(data, None if encoded else image_transform(res),
                             batch_size=p["batch"], workers=workers, device=device,
                             encoded=encoded)  # fmt: skip
        r = timed_extraction(model, loader, device, "fp16", p["row_s"], res)
        rows.append(_image_row(name, kind, "fp16", r, bound, workers))
    return rows


def _image_row(name: str, kind: str, precision: str, r: dict, bound: float, workers: int) -> dict:
    per_s = r.get("per_s", r.get("images_per_s"))
    return {"section": "image", "model": name, "input": kind, "precision": precision,
            "per_s": per_s, "unit": "img/s", "items": r["images"], "seconds": r["seconds"],
            "bound": bound, "fraction": per_s / bound, "workers": workers}  # fmt: skip


def text_row(name: str, cfg, device, p: dict) -> dict:
    """Text features/s building ImageNet's prompt-ensemble classifier (tokenising included)."""
    from bench.tasks import get_task

    imagenet = get_task("imagenet")
    names, templates = imagenet.class_prompts[: p["classes"]], imagenet.templates
    torch.manual_seed(0)
    with torch.device(device):
        model = ClipModel(CLIP(cfg).eval(), name, weights_sha256="benchmark")
    precision = "fp16" if device.type == "cuda" else "fp32"
    build_classifier(model, names[:2], templates, precision=precision, cache=False)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    build_classifier(model, names, templates, precision=precision, cache=False)
    _sync(device)
    seconds = time.perf_counter() - t0
    n = sum(len(c) for c in names) * len(templates)
    return {"section": "text", "model": name, "input": f"{len(names)} classes x "
            f"{len(templates)} templates", "precision": precision, "per_s": n / seconds,
            "unit": "prompts/s", "items": n, "seconds": seconds}  # fmt: skip


def synthetic_problem(n: int, d: int, k: int, device: torch.device, seed: int) -> tuple:
    """CLIP-like features on the device: Gaussian classes, spread scales, an offset mean."""
    g = torch.Generator(device=device).manual_seed(1)
    means = torch.randn(k, d, generator=g, device=device) * 4 / math.sqrt(d)
    scale = torch.exp(torch.randn(d, generator=g, device=device) * 0.6)
    offset = torch.randn(d, generator=g, device=device) * 1.5
    g.manual_seed(seed)
    y = torch.randint(0, k, (n,), generator=g, device=device)
    X = torch.empty(n, d, device=device)
    for s in range(0, n, 1 << 18):
        e = min(n, s + (1 << 18))
        X[s:e] = (means[y[s:e]] + torch.randn(e - s, d, generator=g, device=device)) * scale
    return X + offset, y.cpu().numpy()


def probe_row(device: torch.device, p: dict, cap_s: float) -> dict:
    """Seconds per L-BFGS iteration and the C search, stopped after ``cap_s`` seconds (the
    fits left are then projected from the mean fit time)."""
    X, y = synthetic_problem(p["n"], p["d"], p["k"], device, seed=0)
    Xv, yv = synthetic_problem(p["n_val"], p["d"], p["k"], device, seed=1)
    _sync(device)
    t0 = time.perf_counter()
    first = LinearProbe(C=1e-6, max_iter=10, device=device).fit(X, y)
    _sync(device)
    per_iter = (time.perf_counter() - t0) / max(1, first.n_iter_)
    grid, fits, solutions = c_grid(), [], {}
    deadline = time.perf_counter() + cap_s

    def evaluate(j: int) -> float:
        if time.perf_counter() > deadline:
            raise TimeoutError
        near = min(solutions, key=lambda i: (abs(i - j), i)) if solutions else None
        init = solutions[near] if near is not None else None
        t = time.perf_counter()
        probe = LinearProbe(C=grid[j], device=device).fit(X, y, init=init)
        acc = float((probe.predict(Xv) == yv).mean() * 100)
        _sync(device)
        fits.append((time.perf_counter() - t, probe.n_iter_))
        solutions[j] = (probe.coef_, probe.intercept_)
        return acc

    try:
        parametric_search(evaluate, len(grid), INITIAL_STEP)
        projected = False
    except TimeoutError:
        projected = True
    spent = sum(f[0] for f in fits)
    total = spent + (15 - len(fits)) * spent / max(1, len(fits)) if projected else spent
    iters = sum(f[1] for f in fits)
    return {"section": "probe", "model": "-", "input": f"{p['n']:,} x {p['d']}, {p['k']} "
            "classes", "precision": "fp32", "per_s": None, "unit": "s", "seconds": total,
            "seconds_per_iteration": per_iter, "fits": len(fits), "iterations": iters,
            "projected": projected, "search_s_measured": spent}  # fmt: skip


def train_row(device: torch.device, peak: float, p: dict) -> dict:
    """Training samples/s and MFU (bf16 on CUDA), by ``benchmarks/train_throughput.py``."""
    cfg = get_config(p["train_model"])
    args = argparse.Namespace(batch_size=p["train_batch"], steps=p["train_steps"], warmup=1,
                              precision="bf16", compile=False, grad_checkpointing=False)  # fmt: skip
    torch.manual_seed(0)
    r = train_throughput.measure(CLIP(cfg), cfg, args, device)
    flops = train_throughput.train_flops_per_sample(cfg)
    return {"section": "train", "model": p["train_model"], "input": f"batch {args.batch_size}",
            "precision": "bf16" if device.type == "cuda" else "fp32",
            "per_s": r["samples_per_s"], "unit": "samples/s", "seconds": r["seconds_per_step"],
            "mfu": r["samples_per_s"] * flops / peak}  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every section within ``args.budget`` seconds; returns the report."""
    p = QUICK if args.quick else FULL
    device = torch.device(args.device or ("cpu" if args.quick or not torch.cuda.is_available()
                                          else "cuda"))  # fmt: skip
    if args.quick and not args.peak_tflops:
        peak, peak_source = 1e12, "nominal: --quick only checks that the script runs"
    else:
        peak, peak_source = peak_flops(device, args.peak_tflops)
    deadline = time.perf_counter() + args.budget
    workers = default_workers() if args.workers is None else args.workers
    rows, skipped, spent = [], [], {}

    def section(what: str, fn: Any, *a: Any) -> None:
        if time.perf_counter() >= deadline:
            skipped.append(what)
            return
        t0 = time.perf_counter()
        out = fn(*a)
        rows.extend(out if isinstance(out, list) else [out])
        spent[what] = round(time.perf_counter() - t0, 2)

    with tempfile.TemporaryDirectory() as tmp:
        # enough files for the cap at 15,000 img/s (hard links: quick to make)
        n_jpegs = int(p["row_s"] * 15000) if device.type == "cuda" else 2 * p["batch"]
        jpegs = write_jpegs(Path(tmp), n_jpegs)
        for name in p["models"]:
            cfg = get_config(name)
            section(f"image {name}", image_rows, name, cfg, device, peak, p, jpegs, workers)
    for name in p["models"]:
        section(f"text {name}", text_row, name, get_config(name), device, p)
    cap = min(p["probe_s"], deadline - time.perf_counter() - TRAIN_RESERVE_S)
    section("probe", probe_row, device, p, max(cap, 1.0))
    section("train", train_row, device, peak, p)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    return {"device": name, "quick": args.quick, "peak_tflops": peak / 1e12,
            "peak_source": peak_source, "workers": workers, "rows": rows,
            "skipped_for_time": skipped, "section_seconds": spent,
            "targets": verdicts(rows, judged=not args.quick)}  # fmt: skip


def verdicts(rows: list[dict], judged: bool = True) -> dict[str, dict]:
    """The three targets, each with the figure it is judged on (``None``: not measured; not
    judged at all for ``--quick``, whose sizes mean nothing)."""
    b32 = [r for r in rows if r["model"] == "ViT-B-32"]
    jpeg = max((r["per_s"] for r in b32 if r["input"].startswith("jpeg")), default=None)
    tens = max((r["fraction"] for r in b32 if r["input"] == "tensors"), default=None)
    probe = next((r["seconds"] for r in rows if r["section"] == "probe"), None)
    figures = {"jpeg": jpeg, "tensors": tens, "search": probe}
    out = {}
    for key, (text, goal) in TARGETS.items():
        value = figures[key]
        ok = (
            None
            if value is None or not judged
            else (value < goal if key == "search" else value >= goal)
        )
        out[key] = {"target": text, "value": value, "met": ok}
    return out


def _fmt(v: float | None, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


def print_table(report: dict[str, Any]) -> None:
    print(f"device {report['device']}, peak {report['peak_tflops']:.3g} TFLOP/s "
          f"({report['peak_source']}), {report['workers']} loader workers")  # fmt: skip
    head = f"{'section':<7} {'model':<9} {'input':<32} {'prec':<5} {'figure':>12} {'unit':<10}"
    print(head + f" {'bound':>10} {'of bound':>8}  notes")
    for r in report["rows"]:
        notes = ""
        if r["section"] == "probe":
            notes = (f"{r['seconds_per_iteration']:.3f} s/iter, {r['fits']} fits, "
                     f"{r['iterations']} iters" + (", rest projected" if r["projected"] else ""))  # fmt: skip
        if r["section"] == "train":
            notes = f"MFU {100 * r['mfu']:.1f}%"
        figure = r["seconds"] if r["section"] == "probe" else r["per_s"]
        frac = f"{100 * r['fraction']:.1f}%" if "fraction" in r else "-"
        print(f"{r['section']:<7} {r['model']:<9} {r['input']:<32} {r['precision']:<5} "
              f"{_fmt(figure):>12} {r['unit']:<10} {_fmt(r.get('bound')):>10} {frac:>8}  {notes}")  # fmt: skip
    for v in report["targets"].values():
        met = {True: "met", False: "NOT met", None: "not judged"}[v["met"]]
        print(f"target: {v['target']}: {met} ({_fmt(v['value'], ',.2f')})")
    if report["skipped_for_time"]:
        print(f"skipped for time: {', '.join(report['skipped_for_time'])}")
    print("section seconds: " + ", ".join(f"{k} {v}" for k, v in report["section_seconds"].items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes on the CPU (CI)")
    parser.add_argument("--device", help="default: cuda when available (cpu with --quick)")
    parser.add_argument("--workers", type=int, help="JPEG loader workers (default: bench's)")
    parser.add_argument("--budget", type=float, default=190.0,
                        help="seconds for all sections; a section not started by then is "
                        "skipped and listed, and the probe's cap shrinks to fit (default "
                        "190: with start-up, under 4 minutes)")  # fmt: skip
    parser.add_argument("--peak-tflops", type=float, help="the device's peak, TFLOP/s")
    parser.add_argument("--json-out", default="gpu_benchmark.json", help="where the JSON goes")
    args = parser.parse_args(argv)
    report = run(args)
    Path(args.json_out).write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"JSON: {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
