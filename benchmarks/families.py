"""bench's encoders against each model family's own library on ViT-B/32: CPU images/s (as a
ratio) and the largest relative difference of the features.

Per family, one random-weight ViT-B/32 is built by the family's library, written to disk in
that library's own format and loaded back through :func:`bench.models.resolve` (the fast path:
converted into the in-repo encoders):

* ``open_clip``: ``open_clip.create_model("ViT-B-32", pretrained=None)`` (GELU, the LAION
  architecture), ``torch.save`` of its state dict, ``--model open_clip:ViT-B-32 --weights PATH``;
* ``hf``: ``transformers.CLIPModel(CLIPConfig())`` (the defaults are ViT-B/32, QuickGELU) with
  OpenAI's BPE vocabulary and image processor, ``save_pretrained``, ``--model hf:FOLDER``;
* ``openai``: a random QuickGELU ViT-B/32 state dict in OpenAI's layout, through OpenAI's own
  ``clip.model.build_model`` (the ``openai-clip`` package; skipped if absent) and
  ``--model openai:ViT-B/32 --weights PATH``.

Both models of a pair see the same fp32 inputs (random images, as preprocessed; the family's
tokens), on the same number of threads, under ``torch.inference_mode``; batches alternate
between the two so that a loaded machine slows both alike. The difference is
``max |ours - theirs| / max |theirs|`` over the image and text embeddings.

Example::

    python benchmarks/families.py                  # open_clip and hf: batch 8, 3 timed batches
    python benchmarks/families.py --families openai open_clip hf --batches 10 --json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from bench.models import resolve
from bench.models.seam import EvalModel

TEXTS = [
    "a photo of a cat.", "a photo of a dog.", "a blurry photo of the number 7.",
    "an origami airplane.", "", "a photo of a small red car parked on a street.",
    "itap of a tabby cat", "a sculpture of a bird.",
]  # fmt: skip
Encoder = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Pair:
    """bench's model of a family and the library's own model of the same weights."""

    family: str
    library: str
    ours: EvalModel
    image: Encoder  # the library's image embedding
    text: Encoder  # the library's text embedding
    tokens: torch.Tensor  # the library's tokens of TEXTS


def open_clip_pair(tmp: Path) -> Pair:
    import open_clip

    torch.manual_seed(0)
    ref = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    path = tmp / "open_clip_vit_b_32.pt"
    torch.save(ref.state_dict(), path)
    ours = resolve("open_clip:ViT-B-32", weights=path).load("cpu")
    tokens = open_clip.get_tokenizer("ViT-B-32")(TEXTS)
    return Pair("open_clip", f"open_clip {open_clip.__version__}", ours, ref.encode_image,
                ref.encode_text, tokens)  # fmt: skip


def _openai_bpe_files(folder: Path) -> None:
    """OpenAI's BPE vocabulary (bench's packaged copy) as an HF ``vocab.json``/``merges.txt``."""
    from bench.models.tokenizer import SimpleTokenizer

    bpe = SimpleTokenizer()
    (folder / "vocab.json").write_text(json.dumps(bpe.encoder), encoding="utf-8")
    merges = sorted(bpe.bpe_ranks, key=bpe.bpe_ranks.get)
    lines = ["#version: 0.2"] + [" ".join(m) for m in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def hf_pair(tmp: Path) -> Pair:
    import transformers as tf

    folder = tmp / "hf_clip_vit_b_32"
    folder.mkdir()
    _openai_bpe_files(folder)
    tok = tf.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    tf.CLIPProcessor(image_processor=tf.CLIPImageProcessor(), tokenizer=tok).save_pretrained(folder)
    torch.manual_seed(0)
    ref = tf.CLIPModel(tf.CLIPConfig()).eval()
    ref.save_pretrained(folder)
    ours = resolve(f"hf:{folder}").load("cpu")
    length = ref.config.text_config.max_position_embeddings
    tokens = tok(TEXTS, padding="max_length", max_length=length, truncation=True,
                 return_tensors="pt")["input_ids"]  # fmt: skip

    def image(x: torch.Tensor) -> torch.Tensor:
        return ref.get_image_features(pixel_values=x).pooler_output

    def text(ids: torch.Tensor) -> torch.Tensor:
        return ref.get_text_features(input_ids=ids).pooler_output

    return Pair("hf", f"transformers {tf.__version__}", ours, image, text, tokens)


def openai_pair(tmp: Path) -> Pair:
    import clip
    import open_clip

    torch.manual_seed(0)  # open_clip's initialisation, OpenAI's layout and QuickGELU
    sd = open_clip.create_model("ViT-B-32-quickgelu", pretrained=None).state_dict()
    path = tmp / "openai_vit_b_32.pt"
    torch.save(sd, path)
    ref = clip.model.build_model(dict(sd)).float().eval()
    ref.load_state_dict(sd)  # build_model rounds the weights to fp16; compare on the same ones
    ours = resolve("openai:ViT-B/32", weights=path).load("cpu")
    return Pair("openai", "openai-clip (OpenAI's code)", ours, ref.encode_image,
                ref.encode_text, clip.tokenize(TEXTS))  # fmt: skip


PAIRS = {"open_clip": open_clip_pair, "hf": hf_pair, "openai": openai_pair}
DEFAULT = ("open_clip", "hf")  # openai too with --families: keeps the default run ~2 minutes


def rel(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """``max |ours - theirs| / max |theirs|``."""
    return float((ours.float() - theirs.float()).abs().max() / theirs.float().abs().max())


def measure(pair: Pair, images: torch.Tensor, batches: int) -> dict[str, object]:
    """Images/s of both models (alternating batches, after one warm-up each) and the
    features' largest relative difference."""
    ours_image = pair.ours.encode_image
    with torch.inference_mode():
        diff_image = rel(ours_image(images), pair.image(images))  # also the warm-up
        ours_tokens = pair.ours.tokenize(TEXTS)
        diff_text = rel(pair.ours.encode_text(pair.tokens), pair.text(pair.tokens))
        spent = {"ours": 0.0, "library": 0.0}
        for i in range(batches):
            order = [("ours", ours_image), ("library", pair.image)]
            for key, fn in order if i % 2 == 0 else order[::-1]:
                t0 = time.perf_counter()
                fn(images)
                spent[key] += time.perf_counter() - t0
    n = batches * images.shape[0]
    ours_ips, lib_ips = n / spent["ours"], n / spent["library"]
    return {
        "family": pair.family,
        "library": pair.library,
        "fast_path": type(pair.ours).__name__ == "ClipModel",
        "tokens_equal": bool(torch.equal(ours_tokens, pair.tokens)),
        "ours_images_per_s": round(ours_ips, 2),
        "library_images_per_s": round(lib_ips, 2),
        "ratio": round(ours_ips / lib_ips, 3),
        "max_rel_diff_image": diff_image,
        "max_rel_diff_text": diff_text,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", nargs="+", choices=list(PAIRS), default=list(DEFAULT))
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--batches", type=int, default=3, help="timed batches per model")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--json", action="store_true", help="print one JSON line per family")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    images = torch.randn(args.batch_size, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    if not args.json:
        print(f"ViT-B/32, random weights, fp32, CPU, {args.threads} threads, batch "
              f"{args.batch_size}, {args.batches} timed batches")  # fmt: skip
        print(f"{'family':<10} {'library':<28} {'bench img/s':>11} {'lib img/s':>10} "
              f"{'ratio':>6} {'rel diff image':>14} {'rel diff text':>13}  path")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families:
            row = measure(PAIRS[family](Path(tmp)), images, args.batches)
            if args.json:
                print(json.dumps(row))
                continue
            path = "in-repo encoders" if row["fast_path"] else "library model"
            print(f"{row['family']:<10} {row['library']:<28} {row['ours_images_per_s']:>11.2f} "
                  f"{row['library_images_per_s']:>10.2f} {row['ratio']:>6.2f} "
                  f"{row['max_rel_diff_image']:>14.1e} {row['max_rel_diff_text']:>13.1e}  {path}"
                  + ("" if row["tokens_equal"] else "  (tokens differ!)"))  # fmt: skip


if __name__ == "__main__":
    main()
