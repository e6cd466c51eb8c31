"""Feature-extraction throughput of ViT-B/32 next to the device's FLOP bound.

Measures images/s of ``bench.features``' extraction loop (the DataLoader pipeline and
``encode_chunks`` that ``bench run`` uses) in two settings:

* ``model``: ``encode_image`` alone on a batch already on the device (the ceiling that the
  two pipelines below are compared with);
* ``tensors``: images already preprocessed (3x224x224 float tensors in memory), so the
  figure is the model's and the host-to-device pipeline's;
* ``jpeg``: synthetic JPEG files on disk (generated in a temporary folder), decoded, resized
  and normalised by OpenAI's preprocessing in DataLoader workers.

The bound is ``peak FLOP/s / FLOPs per image``. FLOPs per image are counted from the
architecture (matrix multiplications of the patch embedding, every transformer block and the
projection, 2 FLOPs per multiply-add; norms, softmax and GELU are left out, < 1%). The peak
comes from ``--peak-tflops``, else a small table of dense bf16/fp16 tensor-core peaks; on a
CPU it is measured (a large fp32 matmul), which is an achievable rather than a datasheet peak.
Random weights: throughput does not depend on them.

Example::

    python benchmarks/extract_throughput.py --device cpu --count 64 --batch-size 16
    python benchmarks/extract_throughput.py --device cuda --count 20000 --batch-size 1024 \\
        --workers 12 --precision bf16
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.features import encode_chunks, make_loader
from bench.models import CLIP, get_config, image_transform
from bench.models.model import ModelConfig
from bench.settings import precision_dtype, resolve_device, resolve_precision

# Dense (no sparsity) bf16/fp16 tensor-core peaks from the vendors' datasheets, TFLOP/s.
PEAK_TFLOPS = {
    "H200": 989.0,  # H200 SXM
    "H100": 989.0,  # H100 SXM (PCIe: 756; pass --peak-tflops)
    "A100": 312.0,
    "L40S": 362.0,
    "L4": 121.0,
    "A10": 125.0,
    "V100": 125.0,
}


def vit_flops_per_image(cfg: ModelConfig) -> float:
    """Matmul FLOPs of one image through a ViT image tower (2 per multiply-add)."""
    w, p, r = cfg.vision_width, cfg.vision_patch_size, cfg.image_resolution
    patches = (r // p) ** 2
    t = patches + 1  # plus the class token
    embed = 2 * patches * (3 * p * p) * w
    per_layer = 2 * t * w * (3 * w) + 2 * 2 * t * t * w + 2 * t * w * w + 2 * 2 * t * w * (4 * w)
    proj = 2 * w * cfg.embed_dim
    return float(embed + cfg.vision_layers * per_layer + proj)


def peak_flops(device: torch.device, override_tflops: float | None) -> tuple[float, str]:
    """The device's peak FLOP/s and where the number comes from."""
    if override_tflops:
        return override_tflops * 1e12, "--peak-tflops"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, tflops in PEAK_TFLOPS.items():
            if key in name:
                return tflops * 1e12, f"datasheet {key} dense bf16"
        raise SystemExit(f"no peak known for {name!r}; pass --peak-tflops")
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm up
    t0, reps = time.perf_counter(), 5
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0), "measured fp32 2048^3 matmul"


class TensorImages:
    """``count`` preprocessed images (one random tensor shared by all items)."""

    def __init__(self, count: int, resolution: int) -> None:
        self.count = count
        self.image = torch.randn(3, resolution, resolution)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.image, 0


class JpegFiles:
    """JPEG files on disk, decoded with PIL."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        with Image.open(self.paths[i]) as img:
            return img.convert("RGB"), 0


def write_jpegs(folder: Path, count: int, distinct: int = 64) -> list[Path]:
    """``count`` synthetic 500x375 JPEGs (ImageNet's typical size): ``distinct`` different
    files, repeated by hard links so that generating many stays quick."""
    rng = np.random.default_rng(0)
    base = []
    for i in range(min(count, distinct)):
        yy, xx = np.mgrid[0:375, 0:500]
        pic = np.stack([(xx + 40 * i) % 256, (yy * 2) % 256, (xx + yy) % 256], -1)
        pic = (pic + rng.normal(0, 20, pic.shape)).clip(0, 255).astype(np.uint8)
        path = folder / f"img{i:06d}.jpg"
        Image.fromarray(pic).save(path, quality=90)
        base.append(path)
    paths = list(base)
    for i in range(len(base), count):
        link = folder / f"img{i:06d}.jpg"
        link.hardlink_to(base[i % len(base)])
        paths.append(link)
    return paths


def measure(model, dataset, transform, args, device, precision) -> dict[str, float]:
    """Images/s over the dataset after one warm-up batch."""
    warm = make_loader(
        dataset, transform, start=len(dataset) - args.batch_size, batch_size=args.batch_size,
        workers=0, device=device,
    )  # fmt: skip
    for _ in encode_chunks(model, warm, start=0, device=device, precision=precision):
        pass
    loader = make_loader(
        dataset, transform, batch_size=args.batch_size, workers=args.workers, device=device
    )
    t0 = time.perf_counter()
    n = 0
    for chunk in encode_chunks(model, loader, start=0, device=device, precision=precision):
        n += chunk["embedding"].shape[0]  # .cpu() inside: the device has finished
    seconds = time.perf_counter() - t0
    return {"images": n, "seconds": seconds, "images_per_s": n / seconds}


def measure_model_only(model, args, device, precision, resolution: int) -> dict[str, float]:
    """Images/s of ``encode_image`` alone on a batch already on the device (no loader)."""
    batch = torch.randn(args.batch_size, 3, resolution, resolution, device=device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
        batch = batch.contiguous(memory_format=torch.channels_last)
    autocast = torch.autocast(
        device.type, dtype=precision_dtype(precision), enabled=precision != "fp32"
    )
    steps = max(1, args.count // args.batch_size)
    with torch.inference_mode(), autocast:
        model.encode_image(batch)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            model.encode_image(batch)
        _sync(device)
    seconds = time.perf_counter() - t0
    n = steps * args.batch_size
    return {"images": n, "seconds": seconds, "images_per_s": n / seconds}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--count", type=int, default=256, help="images per measurement")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--precision", default=None, help="fp32, fp16, bf16 (default fp16 on CUDA)")
    p.add_argument("--peak-tflops", type=float, default=None, help="the device's peak TFLOP/s")
    p.add_argument(
        "--modes",
        default="model,tensors,jpeg",
        help="model (encode_image on a batch already on the device: no loader), tensors "
        "(preprocessed tensors through our loader), jpeg (files on disk); comma-separated",
    )
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    device = resolve_device(args.device)
    precision = resolve_precision(args.precision, device)
    cfg = get_config("ViT-B-32")
    torch.manual_seed(0)
    model = CLIP(cfg).eval().to(device)
    flops = vit_flops_per_image(cfg)
    peak, source = peak_flops(device, args.peak_tflops)
    bound = peak / flops
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            if mode == "model":
                r = measure_model_only(model, args, device, precision, cfg.image_resolution)
                rows.append({"mode": mode, **r, "bound_images_per_s": bound,
                             "fraction_of_bound": r["images_per_s"] / bound})  # fmt: skip
                continue
            if mode == "tensors":
                dataset, transform = TensorImages(args.count, cfg.image_resolution), None
            else:
                dataset = JpegFiles(write_jpegs(Path(tmp), args.count))
                transform = image_transform(cfg.image_resolution)
            r = measure(model, dataset, transform, args, device, precision)
            rows.append({"mode": mode, **r, "bound_images_per_s": bound,
                         "fraction_of_bound": r["images_per_s"] / bound})  # fmt: skip
    info = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "precision": precision,
        "batch_size": args.batch_size,
        "workers": args.workers,
        "gflops_per_image": flops / 1e9,
        "peak_tflops": peak / 1e12,
        "peak_source": source,
        "rows": rows,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return
    print(
        f"ViT-B/32 image tower: {flops / 1e9:.2f} GFLOP/image; device {info['device']} "
        f"({torch.get_num_threads()} threads), peak {peak / 1e12:.2f} TFLOP/s ({source}); "
        f"{precision}, batch {args.batch_size}, {args.workers} workers"
    )
    print(f"{'input':<10}{'images':>8}{'ours img/s':>14}{'bound img/s':>14}{'ours/bound':>12}")
    for r in rows:
        print(
            f"{r['mode']:<10}{r['images']:>8}{r['images_per_s']:>14.1f}"
            f"{r['bound_images_per_s']:>14.1f}{100 * r['fraction_of_bound']:>11.1f}%"
        )


if __name__ == "__main__":
    main()
