"""The paper's whole C search for the linear probe: ours (torch L-BFGS) against scikit-learn's.

Both run the same parametric search (``bench.probe.parametric_search``: 7 values of C, then 4
halvings of the interval around the best, at most 15 fits) on the same synthetic features, and
print the time of the whole search, the chosen C, and the test accuracy at the chosen C, side
by side. The alternative is what the paper ran: scikit-learn ``LogisticRegression(solver=
"lbfgs", C=C, max_iter=1000)`` fitted from scratch at every C. ``--sklearn-warm-start`` adds a
third column: scikit-learn started from the nearest C's solution, as ours is.

Features are synthetic but shaped like CLIP's: unnormalised, an offset mean, per-dimension
scales spread over an order of magnitude, overlapping Gaussian classes (not separable: about 82%
test accuracy at the default size, 84% at the 10,000 x 256 one). Examples::

    python benchmarks/linear_probe.py                        # 50,000 x 512, 100 classes
    python benchmarks/linear_probe.py --n 10000 --d 256 --classes 50
    python benchmarks/linear_probe.py --n 1281167 --d 768 --classes 1000 --skip-sklearn  # GPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from bench.probe import (
    INITIAL_STEP,
    LinearProbe,
    c_grid,
    default_device,
    parametric_search,
    search_C,
)


def synthetic_features(
    n: int, d: int, classes: int, seed: int = 0, separation: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """CLIP-like float32 features ``[n, d]`` and int labels ``[n]`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    gen = np.random.default_rng(seed + 1)  # shared by every split: same classes and scales
    means = gen.normal(size=(classes, d)) * separation / np.sqrt(d) * 2
    scale = np.exp(gen.normal(size=d) * 0.6).astype(np.float32)
    offset = gen.normal(size=d).astype(np.float32) * 1.5
    y = rng.integers(0, classes, n)
    X = np.empty((n, d), np.float32)
    for s in range(0, n, 65536):  # in chunks: ImageNet scale would not fit in float64
        e = min(n, s + 65536)
        X[s:e] = (means[y[s:e]] + rng.normal(size=(e - s, d))) * scale + offset
    return X, y


def _sklearn_search(
    Xtr: np.ndarray, ytr: np.ndarray, Xva: np.ndarray, yva: np.ndarray, warm: bool
) -> tuple[float, object, float, int]:
    """The same search with scikit-learn fits; returns (best C, its model, seconds, fits)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    grid, models = c_grid(), {}

    def evaluate(j: int) -> float:
        clf = LogisticRegression(C=grid[j], max_iter=1000, warm_start=warm)
        if warm and models:
            near = models[min(models, key=lambda i: (abs(i - j), i))]
            clf.coef_, clf.intercept_ = near.coef_.copy(), near.intercept_.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(Xtr, ytr)
        models[j] = clf
        acc = float((clf.predict(Xva) == yva).mean() * 100)
        print(f"  sklearn{' warm' if warm else ''} C={grid[j]:.3g} val {acc:.2f}", file=sys.stderr)
        return acc

    t0 = time.perf_counter()
    peak, scores = parametric_search(evaluate, len(grid), INITIAL_STEP)
    return grid[peak], models[peak], time.perf_counter() - t0, len(scores)


def _ours(
    Xtr: np.ndarray, ytr: np.ndarray, Xva: np.ndarray, yva: np.ndarray, device: torch.device
) -> tuple[float, Callable[[float], LinearProbe], float, int]:
    """Our search (warm-started); returns (best C, refit(C) -> probe, seconds, fits)."""
    Xtr_t, Xva_t = torch.from_numpy(Xtr).to(device), torch.from_numpy(Xva).to(device)
    LinearProbe(device=device, max_iter=2).fit(Xtr_t[:512], ytr[:512])  # warm-up: kernels, threads
    _sync(device)
    t0 = time.perf_counter()
    best_c, scores = search_C(Xtr_t, ytr, Xva_t, yva, device=device, progress=True)
    _sync(device)
    seconds = time.perf_counter() - t0

    def refit(C: float) -> LinearProbe:
        return LinearProbe(C=C, device=device).fit(Xtr_t, ytr)

    return best_c, refit, seconds, len(scores)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _accuracy(model: object, X: np.ndarray, y: np.ndarray) -> float:
    return float((model.predict(X) == y).mean() * 100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=50_000, help="training samples (default 50,000)")
    ap.add_argument("--n-val", type=int, default=None, help="validation samples (default n/5)")
    ap.add_argument("--n-test", type=int, default=None, help="test samples (default n/5)")
    ap.add_argument("--d", type=int, default=512, help="feature width (default 512)")
    ap.add_argument("--classes", type=int, default=100, help="number of classes (default 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None, help="ours: cuda if available, else cpu")
    ap.add_argument("--skip-sklearn", action="store_true", help="only ours (e.g. ImageNet scale)")
    ap.add_argument("--sklearn-warm-start", action="store_true", help="also warm-started sklearn")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    n_val, n_test = args.n_val or args.n // 5, args.n_test or args.n // 5
    device = torch.device(args.device) if args.device else default_device()
    X, y = synthetic_features(args.n + n_val + n_test, args.d, args.classes, args.seed)
    Xtr, ytr = X[: args.n], y[: args.n]
    Xva, yva = X[args.n : args.n + n_val], y[args.n : args.n + n_val]
    Xte, yte = X[args.n + n_val :], y[args.n + n_val :]
    res: dict = {
        "n": args.n,
        "n_val": n_val,
        "n_test": n_test,
        "d": args.d,
        "classes": args.classes,
        "device": str(device),
        "cpu_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    best, refit, secs, fits = _ours(Xtr, ytr, Xva, yva, device)
    ours_model = refit(best)
    res["ours"] = {
        "C": best,
        "seconds": secs,
        "fits": fits,
        "test_acc": _accuracy(ours_model, Xte, yte),
    }
    variants = [] if args.skip_sklearn else [False] + ([True] if args.sklearn_warm_start else [])
    for warm in variants:
        c, model, secs, fits = _sklearn_search(Xtr, ytr, Xva, yva, warm)
        key = "sklearn_warm" if warm else "sklearn"
        res[key] = {"C": c, "seconds": secs, "fits": fits, "test_acc": _accuracy(model, Xte, yte)}
        res[key]["ours_test_acc_at_this_C"] = (
            res["ours"]["test_acc"] if c == best else _accuracy(refit(c), Xte, yte)
        )
    _print(res, args.json)
    return 0


def _row(label: str, r: dict, speedup: str = "") -> str:
    return (
        f"{label:<22}{r['seconds']:>14.2f}{r['fits']:>6}{r['C']:>11.3g}{r['test_acc']:>10.2f}"
        f"{speedup:>11}"
    )


def _print(res: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(res, indent=2))
        return
    print(
        f"features {res['n']:,} train / {res['n_val']:,} val / {res['n_test']:,} test x "
        f"{res['d']}, {res['classes']} classes; ours on {res['device']}, "
        f"{res['cpu_threads']} torch CPU threads ({res['cpu_count']} cores)"
    )
    header = ("C search (s)", 14), ("fits", 6), ("chosen C", 11), ("test acc", 10)
    print(f"{'':<22}" + "".join(f"{h:>{w}}" for h, w in header) + f"{'speed-up':>11}")
    o = res["ours"]
    print(_row("ours (torch L-BFGS)", o))
    for key, label in (("sklearn", "scikit-learn"), ("sklearn_warm", "scikit-learn warm")):
        if key in res:
            r = res[key]
            ratio = r["seconds"] / o["seconds"]
            print(_row(label, r, f"{ratio:.1f}x"))
            print(
                f"  speed-up {ratio:.1f}x; test accuracy at sklearn's C {r['C']:.3g}: ours "
                f"{r['ours_test_acc_at_this_C']:.2f} vs {r['test_acc']:.2f} "
                f"(diff {r['ours_test_acc_at_this_C'] - r['test_acc']:+.2f} points)"
            )


if __name__ == "__main__":
    raise SystemExit(main())
