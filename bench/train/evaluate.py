"""Zero-shot evaluation of a model during training, through the evaluation protocol's parts.

The classifier is :func:`bench.protocols.zero_shot.build_classifier` (every name of every
class and the task's templates, as the suites), the features come from :mod:`bench.features`'
loader and encoder, the score from :func:`bench.metrics.score`. Nothing is cached:
the weights change every step.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset


def zero_shot_eval(
    model: torch.nn.Module,
    task_name: str,
    *,
    split: str = "test",
    max_samples: int | None = None,
    device: torch.device | str = "cpu",
    batch_size: int = 256,
    workers: int = 0,
    data_root: str | None = None,
) -> dict[str, Any]:
    """The task's zero-shot metric for ``model`` on (at most ``max_samples`` of) a split.

    Args:
        model: The CLIP model being trained (left untouched: a copy is evaluated).
        task_name: A task name (``bench tasks``).
        split: The split to score.
        max_samples: Evaluate on this many evenly spaced images (None: all).
        device: Where to run.
        batch_size, workers: Loader settings.
        data_root: Overrides the data root.

    Returns:
        ``{"task", "split", "metric", "value", "top1", "n", "seconds"}`` (percent values).

    Raises:
        UnknownNameError: for an unknown task; DataMissingError if its data is absent.
    """
    from bench.features import encode_chunks, make_loader
    from bench.metrics import score
    from bench.models.seam import ClipModel
    from bench.protocols.zero_shot import build_classifier, logits
    from bench.tasks import get_task

    start = time.perf_counter()
    task = get_task(task_name)
    device = torch.device(device)
    precision = "bf16" if device.type == "cuda" else "fp32"
    dataset = task.dataset(split, root=data_root)
    if max_samples is not None and len(dataset) > max_samples:
        dataset = Subset(dataset, np.linspace(0, len(dataset) - 1, max_samples).astype(int))
    # a copy in eval mode, so the trainer's mode and memory layout stay as they are
    frozen = ClipModel(copy.deepcopy(model).eval(), "in-training", "bench", weights_sha256="-")
    classifier = build_classifier(
        frozen, task.class_prompts, task.templates, precision=precision, cache=False
    )
    loader = make_loader(
        dataset, frozen.preprocess, batch_size=batch_size, workers=workers, device=device
    )
    chunks = list(
        encode_chunks(
            frozen, loader, start=0, device=device, precision=precision, skip_corrupt=True
        )
    )
    embedding = torch.cat([c["embedding"] for c in chunks if c["labels"].numel()])
    labels = torch.cat([c["labels"] for c in chunks if c["labels"].numel()])
    result = score(task.metric, logits(embedding, classifier), labels)
    return {
        "task": task.name,
        "split": split,
        "metric": task.metric,
        "value": result.value,
        "top1": result.parts.get("top1"),
        "n": int(embedding.shape[0]),
        "seconds": round(time.perf_counter() - start, 3),
    }
