"""Zero-shot accuracy on the All, Clean and Overlap parts of a test split, as CLIP §5 reports it.

Significance (documented choice): the paper tests whether accuracy on the overlapping
images differs from the clean images' with a binomial test. We count the Overlap subset's
correct predictions and test them against the Clean accuracy as the success probability
(``scipy.stats.binomtest(k_overlap, n_overlap, p=clean_accuracy)``), giving the two-sided
p-value and the one-sided one for "Overlap higher" (memorisation), plus the 99.5%
Clopper-Pearson interval of the Overlap accuracy (the paper's Figure 17 intervals).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binomtest

from bench.errors import BenchError
from bench.models.seam import EvalModel
from bench.settings import Settings


def zero_shot_correct(model: EvalModel, task: Any, settings: Settings) -> np.ndarray:
    """Per test item: is the zero-shot top-1 prediction right? (bool ``[N]``)

    The one call into the zero-shot protocol (features cache + prompt-ensemble classifier),
    kept here alone so it can follow those pieces when they move.

    Raises:
        BenchError: a multi-label task (no top-1 accuracy).
    """
    from bench.features import extract
    from bench.protocols import zero_shot

    if task.multilabel:
        raise BenchError(f"task {task.name} is multi-label; overlap accuracy needs single labels")
    test = extract(model, task, "test", settings)
    classifier = zero_shot.build_classifier(
        model, task.class_prompts, task.templates, precision=settings.precision
    )
    pred = zero_shot.logits(test.embedding, classifier).argmax(dim=1)
    return (pred == test.labels).cpu().numpy()


def _pct(k: int, n: int) -> float | None:
    return 100.0 * k / n if n else None


def subset_accuracy(correct: np.ndarray, overlap: np.ndarray) -> dict[str, Any]:
    """Accuracies (percent) on All/Clean/Overlap, their difference and the binomial test.

    Args:
        correct: bool ``[N]``, the model's top-1 correctness per test item.
        overlap: bool ``[N]``, whether the item has a near-duplicate in the training set.

    Returns:
        ``all``, ``clean``, ``overlap``, ``difference`` (overlap - clean, points), ``n_*``,
        ``p_two_sided``, ``p_overlap_higher``, ``overlap_ci995``; ``None`` where a part is empty.
    """
    correct, overlap = np.asarray(correct, bool), np.asarray(overlap, bool)
    n_o, n_c = int(overlap.sum()), int((~overlap).sum())
    k_o, k_c = int(correct[overlap].sum()), int(correct[~overlap].sum())
    out: dict[str, Any] = {
        "all": _pct(k_o + k_c, n_o + n_c),
        "clean": _pct(k_c, n_c),
        "overlap": _pct(k_o, n_o),
        "n_all": n_o + n_c,
        "n_clean": n_c,
        "n_overlap": n_o,
        "difference": None,
        "p_two_sided": None,
        "p_overlap_higher": None,
        "overlap_ci995": None,
    }
    if n_o and n_c:
        out["difference"] = out["overlap"] - out["clean"]
        p_clean = k_c / n_c
        out["p_two_sided"] = float(binomtest(k_o, n_o, p_clean).pvalue)
        out["p_overlap_higher"] = float(binomtest(k_o, n_o, p_clean, alternative="greater").pvalue)
    if n_o:
        ci = binomtest(k_o, n_o).proportion_ci(0.995)
        out["overlap_ci995"] = [100.0 * ci.low, 100.0 * ci.high]
    return out
