"""``bench overlap``: which test images of each task have a near-duplicate in a training set.

One pass over the test splits, then one streamed pass over the training images: each chunk
of training embeddings is compared with every test image and every calibration query at
once (:class:`~bench.overlap.search.NearestSearch`), and every training image's pixel hash is
kept for the exact pass. The threshold comes from the calibration queries
(:mod:`bench.overlap.calibrate`) unless given. A test image overlaps when its best cosine
similarity reaches the threshold or a training image has its exact pixels.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.errors import BenchError
from bench.models.seam import EvalModel
from bench.overlap import accuracy, pairs, sources
from bench.overlap.augment import augment
from bench.overlap.calibrate import Calibration, calibrate
from bench.overlap.detector import make_detector
from bench.overlap.result import OverlapResult, check_writable, overlap_relpath, write_overlap
from bench.overlap.search import NearestSearch
from bench.settings import Settings

CALIBRATION_SIZE = 200


@dataclass
class _TestSide:
    task: Any
    dataset: Any
    image: Any  # index -> PIL
    embeddings: torch.Tensor
    hashes: list[str]


def load_model(model: str, weights: str | None, settings: Settings) -> EvalModel:
    """``--model``/``--weights`` through the suites' one model resolution (an EvalModel)."""
    from bench.suites.models import model_spec

    return model_spec(model, settings, weights=weights).get().to(settings.device)


def _encode_all(
    load: Any, n: int, detector: Any, settings: Settings
) -> tuple[torch.Tensor, list[str], list]:
    embs, hashes, bad = [], [], []
    for batch in sources.encode(
        load, n, detector, batch_size=settings.batch_size, workers=settings.workers
    ):
        if batch.indices:
            embs.append(batch.embeddings)
            hashes.extend(batch.hashes)
        bad.extend(batch.bad)
    return (torch.cat(embs) if embs else torch.empty(0, 0)), hashes, bad


def _encode_tests(tasks: Sequence[Any], detector: Any, settings: Settings) -> list[_TestSide]:
    sides = []
    for task in tasks:
        dataset, image = sources.open_test(task, settings.data_root)
        emb, hashes, bad = _encode_all(image, len(dataset), detector, settings)
        if bad:  # the subsets must align item by item with the accuracy pass
            raise BenchError(f"{task.name} test item {bad[0][0]} does not decode: {bad[0][1]}")
        sides.append(_TestSide(task, dataset, image, emb, hashes))
    return sides


def _calibration_queries(
    train: sources.TrainImages, detector: Any, size: int, seed: int, settings: Settings
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Edited copies of a seeded sample: ``(embeddings, excluded index, is_positive)``."""
    n = len(train)
    picks = sorted(random.Random(f"overlap-calibration/{seed}").sample(range(n), min(size, n)))
    picks = picks[: len(picks) // 2 * 2]
    if not picks:
        return torch.empty(0, 0), torch.empty(0, dtype=torch.int64), np.zeros(0, bool)

    def load(k: int) -> Any:
        return augment(train.load(picks[k]), seed=f"{seed}/{picks[k]}")

    emb, _, bad = _encode_all(load, len(picks), detector, settings)
    bad_k = {k for k, _ in bad}
    kept = [k for k in range(len(picks)) if k not in bad_k]
    positive = np.array([k % 2 == 0 for k in kept])
    exclude = torch.tensor([-1 if k % 2 == 0 else picks[k] for k in kept], dtype=torch.int64)
    return emb, exclude, positive


def _stream_train(
    train: sources.TrainImages, detector: Any, search: NearestSearch, settings: Settings
) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """Folds every training chunk into ``search``; returns pixel hash -> first index, unreadable."""
    first: dict[str, int] = {}
    bad: list[tuple[int, str]] = []
    for batch in sources.encode(
        train.load, len(train), detector, batch_size=settings.batch_size, workers=settings.workers
    ):
        bad.extend(batch.bad)
        if not batch.indices:
            continue
        # rows of a batch are contiguous except where unreadable items dropped out
        idx = torch.tensor(batch.indices)
        full = torch.zeros(
            idx[-1] - idx[0] + 1, batch.embeddings.shape[1], device=batch.embeddings.device
        )
        full[idx - idx[0]] = batch.embeddings
        keep_out = torch.ones(full.shape[0], dtype=torch.bool)
        keep_out[idx - idx[0]] = False
        full[keep_out.to(full.device)] = 0.0  # an unreadable item matches nothing (similarity 0)
        search.update(full, int(idx[0]))
        for i, h in zip(batch.indices, batch.hashes, strict=True):
            first.setdefault(h, i)
    return first, bad


def run_overlap(
    train: str,
    tasks: Sequence[Any],
    settings: Settings,
    *,
    model: EvalModel | None = None,
    detector: str = "thumb",
    threshold: float | None = None,
    out: str | Path = "results",
    image_key: str = "filepath",
    caption_key: str = "caption",
    calibration_size: int = CALIBRATION_SIZE,
    seed: int = 0,
) -> list[tuple[Path, OverlapResult]]:
    """Finds each task's test images duplicated in ``train`` and writes one file per task.

    Args:
        train: ``--train``: a pairs file or folder as ``bench train`` reads it, or image folder.
        tasks: The tasks (``bench.tasks.Task``) whose test splits are searched for.
        settings: Device, batch size, workers, data root, force, progress.
        model: Also report zero-shot accuracy on All/Clean/Overlap with this model.
        detector: ``thumb`` (weight-free default) or ``model`` (the model's embeddings).
        threshold: A cosine threshold to use instead of the calibrated one.
        out: The results folder.
        image_key, caption_key: The CSV/TSV columns, as in ``bench train``'s config.
        calibration_size: Training images sampled for the calibration queries.
        seed: Seeds the calibration sample and its edits.

    Returns:
        ``(path, result)`` per task.

    Raises:
        BenchError: bad training data, an existing result without ``settings.force``, too few
            images to calibrate without ``threshold``.
    """
    t0 = time.perf_counter()
    check_writable(
        [Path(out) / overlap_relpath(model and model.name, t.name) for t in tasks], settings.force
    )
    images = sources.open_train_images(train, image_key, caption_key)
    det = make_detector(detector, settings.device, model, settings.precision)
    tests = _encode_tests(tasks, det, settings)
    t_test = time.perf_counter()
    cal_emb, cal_exclude, cal_pos = _calibration_queries(
        images, det, calibration_size, seed, settings
    )
    blocks = [s.embeddings for s in tests if len(s.hashes)] + ([cal_emb] if len(cal_pos) else [])
    queries = torch.cat([b.to(settings.device) for b in blocks])
    n_test = sum(len(s.hashes) for s in tests)
    exclude = torch.cat([torch.full((n_test,), -1, dtype=torch.int64), cal_exclude])
    search = NearestSearch(queries, exclude)
    first, bad = _stream_train(images, det, search, settings)
    t_train = time.perf_counter()
    best, index = search.best.cpu().numpy(), search.index.cpu().numpy()
    cal_scores = best[n_test:]
    cal = calibrate(cal_scores[cal_pos], cal_scores[~cal_pos], threshold)
    written, offset = [], 0
    for side in tests:
        n = len(side.hashes)
        result = _task_result(
            side,
            images,
            best[offset : offset + n],
            index[offset : offset + n],
            first,
            cal,
            model,
            settings,
            out,
        )
        offset += n
        result.train_unreadable, result.compared = len(bad), search.compared
        result.timings = {
            "test": t_test - t0,
            "train": t_train - t_test,
            "total": time.perf_counter() - t0,
        }
        result.detector = {"id": det.id, "threshold": cal.threshold, "calibration": cal.to_dict()}
        written.append((write_overlap(result, out), result))
    return written


def _task_result(
    side: _TestSide,
    images: sources.TrainImages,
    best: np.ndarray,
    index: np.ndarray,
    first: dict[str, int],
    cal: Calibration,
    model: EvalModel | None,
    settings: Settings,
    out: str | Path,
) -> OverlapResult:
    """Flags, pairs files and (with a model) subset accuracies of one task."""
    task = side.task
    found = []
    for i, h in enumerate(side.hashes):
        exact = first.get(h)
        if exact is not None or best[i] >= cal.threshold:
            j = exact if exact is not None else int(index[i])
            name = sources.test_item_name(task, side.dataset, i)
            found.append(pairs.Pair(i, name, j, images.name(j), float(best[i]), exact is not None))
    flags = np.zeros(len(side.hashes), bool)
    flags[[p.test_index for p in found]] = True
    folder = Path(out) / overlap_relpath(model and model.name, task.name).parent
    pairs.write_pairs_csv(found, folder / "overlap-pairs.csv")
    sheet = pairs.write_contact_sheet(found, side.image, images.load, folder / "overlap-pairs.png")
    acc = (
        accuracy.subset_accuracy(accuracy.zero_shot_correct(model, task, settings), flags)
        if model
        else None
    )
    n = len(flags)
    return OverlapResult(
        task=task.name,
        task_version=task.version,
        task_config_hash=task.config_hash,
        train=str(images.spec),
        train_size=len(images),
        train_unreadable=0,
        detector={},
        n_test=n,
        n_overlap=int(flags.sum()),
        n_exact=sum(p.exact for p in found),
        overlap_percent=100.0 * flags.sum() / n if n else 0.0,
        model=model.name if model else None,
        model_slug=overlap_relpath(model and model.name, task.name).parts[0],
        weights_sha256=model.weights_sha256 if model else None,
        accuracy=acc,
        contact_sheet="overlap-pairs.png" if sheet else None,
        device=str(settings.device),
    )
