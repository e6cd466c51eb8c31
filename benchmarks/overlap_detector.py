"""Precision/recall of the default overlap detector on synthetic edited copies, and its speed.

Gallery: N synthetic scenes (bench.overlap.augment.synthetic_scene); queries: one edited copy
(augment: resize, JPEG, small crop, colour, combination) of each of N/2 gallery images
(positives) and of N/2 held-out scenes (negatives). Threshold chosen by the run's rule
(bench.overlap.calibrate). Speed: descriptors per second, and similarities per second of the
chunked search (queries x gallery), on the device given.

    .venv/bin/python benchmarks/overlap_detector.py [--n 2000] [--device cpu]
"""

from __future__ import annotations

import argparse
import time

import torch

from bench.overlap.augment import augment, synthetic_scene
from bench.overlap.calibrate import calibrate
from bench.overlap.detector import ThumbDetector
from bench.overlap.search import NearestSearch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--search-gallery", type=int, default=200_000)
    args = parser.parse_args()
    det = ThumbDetector(args.device)
    gallery = [synthetic_scene(i) for i in range(args.n)]
    t0 = time.perf_counter()
    g = det.embed(torch.stack([det.prepare(im) for im in gallery]))
    per_s = args.n / (time.perf_counter() - t0)
    half = args.n // 2
    pos = det.embed(torch.stack([det.prepare(augment(gallery[i], i)) for i in range(half)]))
    held = [augment(synthetic_scene(10**6 + i), 10**6 + i) for i in range(half)]
    neg = det.embed(torch.stack([det.prepare(im) for im in held]))
    s = NearestSearch(torch.cat([pos, neg]))
    s.update(g, 0)
    best = s.best.cpu().numpy()
    cal = calibrate(best[:half], best[half:])
    print(f"calibration: {half} positives + {half} negatives, gallery {args.n}")
    print(f"threshold {cal.threshold:.3f}: precision {cal.precision:.3f}, recall {cal.recall:.3f}")
    print(f"descriptors: {per_s:.0f} images/s (one process)")
    q = torch.nn.functional.normalize(torch.randn(1000, g.shape[1], device=args.device), dim=1)
    big = torch.nn.functional.normalize(torch.randn(args.search_gallery, g.shape[1]), dim=1)
    search = NearestSearch(q)
    t0 = time.perf_counter()
    for lo in range(0, len(big), 8192):
        search.update(big[lo : lo + 8192], lo)
    dt = time.perf_counter() - t0
    print(
        f"search: {search.compared / dt:.3g} similarities/s "
        f"(1000 test images x {args.search_gallery} training images in {dt:.2f} s, {args.device})"
    )


if __name__ == "__main__":
    main()
