"""The on-disk feature cache: keys, split fingerprints, verified final files and chunks.

A cached file is trusted only if (1) its stored key equals the key asked for, and (2) the
sha256 of its tensors equals the digest stored beside them. The key holds everything that
changes the values: the weights' sha256, the task's name, version and config hash, the
split (and fold), the preprocessing, the precision, the feature kinds stored, this module's
:data:`FEATURE_FORMAT_VERSION` and a fingerprint of the split's files (paths, sizes and
mtimes), so a dataset changed on disk (a repaired image, a replaced file) is re-extracted.
A file that fails its digest is reported on stderr and extracted again, never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from bench.io import atomic_path, atomic_write_json, cache_dir

#: Bump when what a feature file holds or how it is computed changes.
FEATURE_FORMAT_VERSION = 2
#: The feature kinds each file stores: the joint embedding and the paper's probe features.
KINDS = ("embedding", "probe")

#: Counters that tests and logs read: ``cache_hits``, ``cache_misses``, ``extracted_images``,
#: ``resumed_images``, ``chunks_written``, ``rejected_cache_files``, ``corrupt_cache_files``.
STATS: Counter[str] = Counter()


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 of named tensors: names, dtypes, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def item_paths(dataset: Any) -> list[str] | None:
    """The file behind each item, where the dataset knows it (``.paths``, or a view's)."""
    paths = getattr(dataset, "paths", None)
    if paths is not None:
        return list(paths)
    inner, indices = getattr(dataset, "dataset", None), getattr(dataset, "indices", None)
    if inner is not None and indices is not None:
        inner_paths = item_paths(inner)
        if inner_paths is not None:
            return [inner_paths[int(i)] for i in indices]
    return None


def _stat(path: str, seen: dict[str, str]) -> str:
    if path not in seen:
        target = path
        if not os.path.exists(target) and ":" in path:  # ``archive:index`` items
            target = path.rsplit(":", 1)[0]
        try:
            st = os.stat(target)
            seen[path] = f"{st.st_size}|{st.st_mtime_ns}"
        except OSError:
            seen[path] = "missing"
    return seen[path]


def files_fingerprint(dataset: Any) -> str | None:
    """A cheap fingerprint of a split's files: sha256 of each item's path, size and mtime.

    Returns ``None`` for a dataset that does not name its files (then only the key's other
    parts guard the cache). No image is opened or decoded.
    """
    paths = item_paths(dataset)
    if paths is None:
        return None
    h, seen = hashlib.sha256(), {}
    h.update(f"{len(paths)}\n".encode())
    for p in paths:
        h.update(f"{p}|{_stat(str(p), seen)}\n".encode())
    return h.hexdigest()


def feature_key(
    *,
    weights_sha256: str,
    task: Any,
    split: str,
    fold: int | None,
    preprocess: str,
    precision: str,
    files: str | None = None,
    probe_kind: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The cache key of one split's features: ``(file stem, full key dict)``."""
    spec = {
        "format": FEATURE_FORMAT_VERSION,
        "weights_sha256": weights_sha256,
        "task": task.name,
        "task_version": task.version,
        "task_config_hash": task.config_hash,
        "split": split,
        "fold": fold,
        "preprocess": preprocess,
        "precision": precision,
        "kinds": list(KINDS),
        "probe_kind": probe_kind,
        "files": files,
    }
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]
    fold_part = "" if fold is None else f"-fold{fold}"
    return f"{task.name}-{split}{fold_part}-{digest}", spec


def _warn_corrupt(path: Path) -> None:
    STATS["corrupt_cache_files"] += 1
    print(
        f"bench: warning: cached features {path} do not match their stored digest "
        "(damaged on disk); extracting them again",
        file=sys.stderr,
    )


class FeatureCache:
    """Final feature files and resumable chunks under ``<root>`` (default ``<cache>/features``)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else cache_dir() / "features"

    def final_path(self, key: str) -> Path:
        return self.root / f"{key}.safetensors"

    def partial_dir(self, key: str) -> Path:
        return self.root / f"{key}.partial"

    def load(self, key: str, spec: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict] | None:
        """The cached ``(tensors, meta)`` for ``key`` if its key and digest check out."""
        path = self.final_path(key)
        if not path.exists():
            return None
        return _read_verified(path, spec)

    def save(self, key: str, spec: dict[str, Any], tensors: dict[str, torch.Tensor],
             skipped_files: list[str], extracted_by: dict[int, int] | None = None) -> None:  # fmt: skip
        """Writes the final file atomically, then its JSON description; drops the chunks.

        ``extracted_by`` (rank -> images, a distributed run's record) goes to the description.
        """
        meta = {"spec": spec, "skipped_files": skipped_files, "n": int(len(tensors["labels"]))}
        _write(self.final_path(key), tensors, meta)
        dims = {k: int(tensors[k].shape[1]) for k in KINDS if tensors[k].ndim == 2}
        info = {**meta, "dims": dims, "created": time.time()}
        if extracted_by:
            info["extracted_by"] = {str(r): n for r, n in sorted(extracted_by.items())}
        atomic_write_json(self.root / f"{key}.json", info)
        shutil.rmtree(self.partial_dir(key), ignore_errors=True)

    def load_chunks(self, key: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """The verified chunks of an unfinished extraction, by start, without overlaps.

        They may leave gaps (ranks of a distributed run that did not finish); the caller
        extracts those.
        """
        chunks = []
        for path in sorted(self.partial_dir(key).glob("chunk-*.safetensors")):
            found = _read_verified(path, spec)
            if found is not None:
                tensors, meta = found
                chunks.append({**tensors, **meta})
        chunks.sort(key=lambda c: c["start"])
        kept: list[dict[str, Any]] = []
        for c in chunks:
            if not kept or c["start"] >= kept[-1]["end"]:
                kept.append(c)
        return kept

    def has_chunk(self, key: str, spec: dict[str, Any], start: int, end: int) -> bool:
        """Whether a verified chunk covering exactly ``[start, end)`` is there."""
        path = self.partial_dir(key) / f"chunk-{start:09d}.safetensors"
        found = _read_verified(path, spec) if path.exists() else None
        return found is not None and found[1].get("end") == end

    def save_chunk(self, key: str, spec: dict[str, Any], chunk: dict[str, Any]) -> None:
        """Writes one chunk (with the rank that extracted it)."""
        tensors = {k: chunk[k].contiguous() for k in (*KINDS, "labels", "indices")}
        meta = {"spec": spec, "start": chunk["start"], "end": chunk["end"]}
        meta["skipped_files"] = chunk["skipped_files"]
        meta["rank"] = int(chunk.get("rank", 0))
        _write(self.partial_dir(key) / f"chunk-{chunk['start']:09d}.safetensors", tensors, meta)
        STATS["chunks_written"] += 1


def _write(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    meta = {**meta, "digest": tensors_digest(tensors)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"bench": json.dumps(meta)})


def _read_verified(path: Path, spec: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict] | None:
    """A file's tensors and metadata if readable, of key ``spec`` and matching its digest."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {}).get("bench", "{}"))
        tensors = load_file(str(path))
    except Exception:  # noqa: BLE001 - any unreadable cache file is ignored and redone
        STATS["rejected_cache_files"] += 1
        return None
    if meta.get("spec") != spec:
        STATS["rejected_cache_files"] += 1
        return None
    if meta.get("digest") != tensors_digest(tensors):
        STATS["rejected_cache_files"] += 1
        _warn_corrupt(path)
        return None
    return tensors, meta
