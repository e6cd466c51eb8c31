"""Training checkpoints: OpenAI-layout weights plus everything an exact resume needs.

A checkpoint at step ``S`` is two files in ``<output_dir>/checkpoints/``:

- ``step_<S>.pt``: the model's state dict alone, with OpenAI's keys (``visual.conv1.weight``,
  ``transformer.resblocks.0.attn.in_proj_weight``, ``logit_scale``, ...), saved with
  ``torch.save``. ``bench run --model step_<S>.pt``, ``bench.models.load_checkpoint``,
  OpenAI's ``clip.load`` and open_clip's ``load_checkpoint`` read it as it is.
- ``step_<S>.bench.json``: what the state dict cannot say (activation, heads, tokenizer, the
  run's name and step), see :mod:`bench.models.metadata`.
- ``step_<S>.train.pt``: optimizer and scheduler states, the step, the RNG states (Python,
  NumPy, torch CPU and CUDA), the training and model configs, and the weights file's sha256.

Both are written atomically; ``latest.json`` then names the pair, so a run killed while
writing never leaves a checkpoint that ``--resume`` would pick up half-written.
"""

from __future__ import annotations

import json
import pickle
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.errors import BenchError
from bench.io import atomic_path, atomic_write_json, sha256_file

LATEST = "latest.json"


@dataclass(frozen=True)
class Checkpoint:
    """A saved checkpoint: its step and its two files."""

    step: int
    weights: Path
    state: Path


def checkpoint_paths(folder: Path, step: int) -> Checkpoint:
    """Where the checkpoint of ``step`` lives in ``folder``."""
    stem = f"step_{step:08d}"
    return Checkpoint(step, folder / f"{stem}.pt", folder / f"{stem}.train.pt")


def rng_state() -> dict[str, Any]:
    """Every random generator's state (Python, NumPy, torch CPU and CUDA) as tensors and numbers.

    Only types that ``torch.load(weights_only=True)`` reads (tensors, ints, floats, strings,
    lists, dicts), so a resume never needs to unpickle arbitrary objects.
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {
            "version": int(version),
            "state": torch.tensor(internal, dtype=torch.int64),
            "gauss": gauss,
        },
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restores what :func:`rng_state` captured (CUDA only where present on both sides)."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    npy = state["numpy"]
    keys = npy["keys"].numpy().astype(np.uint32)
    np.random.set_state((npy["name"], keys, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        cuda = state["cuda"]
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


def _save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def save_checkpoint(
    folder: str | Path,
    step: int,
    model: torch.nn.Module,
    train_state: dict[str, Any],
    keep: int = 0,
) -> Checkpoint:
    """Writes the checkpoint of ``step`` and points ``latest.json`` at it.

    Args:
        folder: The checkpoints folder.
        step: Optimiser steps completed.
        model: The bare CLIP model (not a DDP or compiled wrapper: keys must be OpenAI's).
        train_state: Optimizer/scheduler states, configs, ...; ``step``, ``rng`` and
            ``weights_sha256`` are added here.
        keep: Newest checkpoints to keep (0: all). The one just written is always kept.

    Returns:
        The written :class:`Checkpoint`.
    """
    folder = Path(folder)
    ckpt = checkpoint_paths(folder, step)
    weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
    _save(weights, ckpt.weights)
    _write_meta(ckpt, model, train_state)
    state = dict(train_state, step=step, rng=rng_state(), weights_sha256=sha256_file(ckpt.weights))
    _save(state, ckpt.state)
    atomic_write_json(
        folder / LATEST, {"step": step, "weights": ckpt.weights.name, "state": ckpt.state.name}
    )
    if keep:
        _prune(folder, keep)
    return ckpt


def _write_meta(ckpt: Checkpoint, model: torch.nn.Module, train_state: dict[str, Any]) -> None:
    from bench.models.metadata import CheckpointMeta, write_meta

    output_dir = (train_state.get("config") or {}).get("output_dir")
    run = Path(output_dir).name if output_dir else ckpt.weights.parent.parent.name
    meta = CheckpointMeta(model.config, run or "run", ckpt.step, sha256_file(ckpt.weights))
    write_meta(ckpt.weights, meta)


def list_checkpoints(folder: str | Path) -> list[Checkpoint]:
    """Complete checkpoints in ``folder`` (both files present), oldest first."""
    out = []
    for state in sorted(Path(folder).glob("step_*.train.pt")):
        step = int(state.name[len("step_") : -len(".train.pt")])
        ckpt = checkpoint_paths(Path(folder), step)
        if ckpt.weights.exists():
            out.append(ckpt)
    return out


def _prune(folder: Path, keep: int) -> None:
    from bench.models.metadata import sidecar_path

    for old in list_checkpoints(folder)[:-keep]:
        old.weights.unlink(missing_ok=True)
        old.state.unlink(missing_ok=True)
        sidecar_path(old.weights).unlink(missing_ok=True)


def latest_checkpoint(folder: str | Path) -> Checkpoint | None:
    """The checkpoint ``latest.json`` names, or None if there is none.

    Raises:
        BenchError: if ``latest.json`` is not the JSON pointer this module writes.
    """
    folder = Path(folder)
    pointer = folder / LATEST
    if not pointer.exists():
        return None
    try:
        info = json.loads(pointer.read_text(encoding="utf-8"))
        step, weights, state = int(info["step"]), str(info["weights"]), str(info["state"])
    except (ValueError, KeyError, TypeError) as err:
        raise BenchError(
            f"{pointer} is corrupt ({type(err).__name__}: {err}); resume from a checkpoint "
            "file instead (--resume <checkpoints>/step_<S>.pt) or delete it to start afresh"
        ) from err
    if Path(weights).name != weights or Path(state).name != state:
        raise BenchError(
            f"{pointer} names files outside its folder ({weights!r}, {state!r}); resume from a "
            "checkpoint file instead (--resume <checkpoints>/step_<S>.pt)"
        )
    return Checkpoint(step, folder / weights, folder / state)


def resolve_resume(resume: str | Path, checkpoints: Path) -> Checkpoint:
    """The checkpoint to resume from: ``"latest"`` (in ``checkpoints``), a weights file
    ``step_<S>.pt``, its ``.train.pt`` file, or a run's output folder.

    Raises:
        BenchError: if nothing resumable is found there; the message names where it looked.
    """
    path = Path(resume)
    if str(resume) == "latest":
        found = latest_checkpoint(checkpoints)
        where = f"{checkpoints / LATEST}"
    elif path.is_dir():
        found = latest_checkpoint(path / "checkpoints") or latest_checkpoint(path)
        where = f"{path / 'checkpoints' / LATEST}"
    else:
        name = path.name.removesuffix(".train.pt").removesuffix(".pt")
        try:
            step = int(name.removeprefix("step_"))
        except ValueError:
            step = -1
        found = checkpoint_paths(path.parent, step) if step >= 0 else None
        where = str(path)
    if found is None or not found.weights.exists() or not found.state.exists():
        raise BenchError(
            f"nothing to resume from: no complete checkpoint at {where} (a checkpoint is "
            "step_<S>.pt plus step_<S>.train.pt); train without --resume to start afresh"
        )
    return found


def _read(path: Path) -> Any:
    """``torch.load(weights_only=True)`` of a checkpoint file; a failure is one BenchError."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "weights only" not in str(err).lower():
            raise BenchError(f"{path} is truncated or corrupt ({err}); {_OTHER}") from err
        raise BenchError(
            f"{path} holds pickled Python objects, not only tensors and numbers, and is not "
            f"loaded (it could run code; checkpoints of older bench versions are such files); "
            f"{_OTHER}"
        ) from err
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        first = first.split(". ", 1)[0]  # torch appends paragraphs of advice to its reason
        raise BenchError(f"{path} is truncated or corrupt ({first}); {_OTHER}") from err


_OTHER = "resume from another checkpoint, or train without --resume to start afresh"


def load_train_state(ckpt: Checkpoint) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Reads a checkpoint's weights and training state, checking that they belong together.

    Both files are read with ``torch.load(weights_only=True)``: no file runs code.

    Raises:
        BenchError: if a file is truncated, corrupt or holds pickled objects, or the weights
            file is not the one the state was saved with.
    """
    state = _read(ckpt.state)
    if not isinstance(state, dict) or not {"optimizer", "scheduler", "rng", "step"} <= set(state):
        raise BenchError(f"{ckpt.state} is not a bench training state; {_OTHER}")
    if sha256_file(ckpt.weights) != state.get("weights_sha256"):
        raise BenchError(
            f"{ckpt.weights} is not the weights file {ckpt.state.name} was saved with (sha256 "
            "differs); resume from another checkpoint"
        )
    weights = _read(ckpt.weights)
    return weights, state
