"""Contrastive training throughput (samples/s) and model FLOPs utilisation (MFU) of a CLIP.

One training step is what ``bench train`` runs: both towers forward (bf16 autocast on CUDA),
the symmetric contrastive loss, backward, AdamW with CLIP's weight-decay groups, and the
logit-scale clamp. Random weights, images and tokens: throughput does not depend on them, and
the data pipeline is left out (the figure is the model's).

FLOPs per sample are counted from the architecture: the image tower (patch embedding, every
block, projection) and the text tower (every block over ``context_length`` tokens,
projection), 2 FLOPs per multiply-add, matrix multiplications only (norms, softmax, GELU and
the B x B logits are < 1%). A training step costs 3x the forward (backward = 2x forward);
activation recomputation with ``--grad-checkpointing`` is not counted, as MFU conventionally
does not. MFU = achieved model FLOP/s / device peak; the peak comes from ``--peak-tflops``, a
table of datasheet dense bf16 peaks for GPUs, or on a CPU a measured fp32 matmul (an
achievable, not a datasheet, peak).

Side by side, the same step with OpenAI's reference ``clip.model.CLIP`` (package
``openai-clip``, same architecture and initialisation) when it is installed.

Example::

    python benchmarks/train_throughput.py --device cpu --batch-size 8 --steps 3
    python benchmarks/train_throughput.py --device cuda --batch-size 512 --steps 20 --compile
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from extract_throughput import peak_flops, vit_flops_per_image  # noqa: E402

from bench.models import CLIP, get_config, tokenize  # noqa: E402
from bench.models.model import ModelConfig  # noqa: E402
from bench.train.config import load_config  # noqa: E402
from bench.train.loss import contrastive_loss  # noqa: E402
from bench.train.optim import make_optimizer  # noqa: E402


def text_flops_per_sample(cfg: ModelConfig) -> float:
    """Matmul FLOPs of one caption through the text transformer (2 per multiply-add)."""
    w, t = cfg.transformer_width, cfg.context_length
    per_layer = 2 * t * w * (3 * w) + 2 * 2 * t * t * w + 2 * t * w * w + 2 * 2 * t * w * (4 * w)
    return float(cfg.transformer_layers * per_layer + 2 * w * cfg.embed_dim)


def train_flops_per_sample(cfg: ModelConfig) -> float:
    """Forward + backward model FLOPs of one image-caption pair: 3 x (image + text) forward."""
    if not cfg.is_vit:
        raise SystemExit("FLOP counting is implemented for ViT image towers; pick a ViT model")
    return 3.0 * (vit_flops_per_image(cfg) + text_flops_per_sample(cfg))


def openai_reference(cfg: ModelConfig) -> torch.nn.Module | None:
    """OpenAI's reference CLIP with ``cfg``'s architecture, or None if not installed."""
    spec = importlib.util.find_spec("clip")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model.py"
    mod_spec = importlib.util.spec_from_file_location("_openai_clip_model", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)  # the package __init__ needs pkg_resources; skip it
    return module.CLIP(
        cfg.embed_dim, cfg.image_resolution, cfg.vision_layers, cfg.vision_width,
        cfg.vision_patch_size, cfg.context_length, cfg.vocab_size, cfg.transformer_width,
        cfg.transformer_heads, cfg.transformer_layers,
    )  # fmt: skip


def measure(
    model: torch.nn.Module, cfg: ModelConfig, args: argparse.Namespace, device: torch.device
) -> dict[str, float]:
    """Seconds per step (median of ``--steps`` after ``--warmup``) and samples/s."""
    model = model.to(device).train()
    if args.grad_checkpointing and hasattr(model, "set_grad_checkpointing"):
        model.set_grad_checkpointing(True)
    optimizer = make_optimizer(model, load_config(None), is_vit=True)
    images = torch.randn(
        args.batch_size, 3, cfg.image_resolution, cfg.image_resolution, device=device
    )
    tokens = tokenize(["a photo of a benchmark"] * args.batch_size, cfg.context_length).to(device)
    bf16 = device.type == "cuda" and args.precision == "bf16"

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            img, txt = model.encode_image(images), model.encode_text(tokens)
        loss = contrastive_loss(img, txt, model.logit_scale.exp())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))

    run = torch.compile(step) if args.compile else step
    times = []
    for i in range(args.warmup + args.steps):
        _sync(device)
        t0 = time.perf_counter()
        run()
        _sync(device)
        if i >= args.warmup:
            times.append(time.perf_counter() - t0)
    per_step = sorted(times)[len(times) // 2]
    return {"seconds_per_step": per_step, "samples_per_s": args.batch_size / per_step}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="ViT-B-32", help="a ViT config name (bench models)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3, help="timed steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument(
        "--precision",
        choices=("bf16", "fp32"),
        default="bf16",
        help="autocast on CUDA (the CPU always runs fp32)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the step")
    parser.add_argument("--grad-checkpointing", action="store_true")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--peak-tflops", type=float, help="the device's peak, TFLOP/s")
    parser.add_argument("--no-reference", action="store_true", help="skip OpenAI's model")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = get_config(args.model)
    flops = train_flops_per_sample(cfg)
    peak, peak_source = peak_flops(device, args.peak_tflops)
    torch.manual_seed(0)
    rows = {"bench": measure(CLIP(cfg), cfg, args, device)}
    reference = None if args.no_reference else openai_reference(cfg)
    if reference is not None:
        rows["openai-clip"] = measure(reference, cfg, args, device)
    for row in rows.values():
        row["tflops"] = row["samples_per_s"] * flops / 1e12
        row["mfu"] = row["samples_per_s"] * flops / peak
    report = {
        "model": args.model, "device": _device_name(device), "batch_size": args.batch_size,
        "precision": args.precision if device.type == "cuda" else "fp32",
        "compile": args.compile, "grad_checkpointing": args.grad_checkpointing,
        "train_gflops_per_sample": flops / 1e9, "peak_tflops": peak / 1e12,
        "peak_source": peak_source, "threads": torch.get_num_threads(), "results": rows,
    }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(
        f"{args.model} training step, batch {args.batch_size}, {report['precision']}, "
        f"{report['device']} ({report['threads']} threads)"
    )
    print(
        f"model FLOPs per sample (fwd+bwd): {flops / 1e9:.1f} GFLOP; peak "
        f"{peak / 1e12:.2f} TFLOP/s ({peak_source})"
    )
    print(f"{'implementation':<14} {'s/step':>8} {'samples/s':>10} {'TFLOP/s':>8} {'MFU':>7}")
    for name, row in rows.items():
        print(
            f"{name:<14} {row['seconds_per_step']:>8.3f} {row['samples_per_s']:>10.1f} "
            f"{row['tflops']:>8.3f} {100 * row['mfu']:>6.1f}%"
        )


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"cpu ({platform.processor() or platform.machine()})"


if __name__ == "__main__":
    main()
