"""The training configuration: one typed, commented dataclass, read from YAML or JSON.

A config file holds a flat mapping of the fields below; ``--set key=value`` overrides any of
them on the command line (values are parsed as YAML, so ``--set steps=100``,
``--set grad_clip=null``, ``--set crop_scale=[0.8,1.0]`` work). An unknown key is an error
that names the close matches, never a silently ignored typo.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.errors import BenchError

PRECISIONS = ("auto", "fp32", "bf16")
DATA_FORMATS = ("auto", "csv", "tsv", "wds", "hf")


class ConfigError(BenchError):
    """A training config that cannot be used as written."""


@dataclass
class TrainConfig:
    """Everything that defines a training run. Defaults follow the CLIP paper where it says."""

    # --- model ---
    model: str = "tiny-vit"  # a bench.models config name (`bench models`) or a JSON config file
    grad_checkpointing: bool = False  # recompute activations in backward: less memory, ~30% slower
    compile: bool = False  # torch.compile the model (first steps are slow while it compiles)
    context_length: int | None = None  # text tokens; None: the model config's (77). Shorter
    # saves compute when captions are short; checkpoints keep it (positional_embedding rows)

    # --- data ---
    data: str = (
        ""  # CSV/TSV file, tar shard(s) (file, folder, glob or {000..009} brace), HF dataset
    )
    data_format: str = "auto"  # auto | csv | tsv | wds | hf  (auto: from the path)
    image_key: str = "filepath"  # CSV/TSV column with image paths (relative to the file's folder)
    caption_key: str = "caption"  # CSV/TSV column with captions
    hf_image_column: str = "image"  # Hugging Face dataset column holding images
    hf_text_column: str = "text"  # Hugging Face dataset column holding captions
    hf_split: str = "train"  # split to use when the HF path holds a DatasetDict
    crop_scale: tuple[float, float] = (0.9, 1.0)  # RandomResizedCrop area range (open_clip's)
    workers: int = 2  # DataLoader worker processes per rank (0: load in the main process)

    # --- optimisation (CLIP paper: AdamW, decoupled weight decay 0.2, cosine schedule) ---
    steps: int = 1000  # optimiser steps in total
    batch_size: int = 256  # GLOBAL batch (all ranks together); must divide by the world size
    lr: float = 5e-4  # peak learning rate, reached after warm-up
    warmup_steps: int = 100  # linear warm-up from ~0 to lr, then cosine decay to 0
    weight_decay: float = 0.2  # not applied to gains, biases, embeddings or the logit scale
    beta1: float = 0.9
    beta2: float | None = None  # None: 0.98 for ViTs, 0.999 otherwise (CLIP paper)
    eps: float | None = None  # None: 1e-6 for ViTs, 1e-8 otherwise (CLIP paper)
    grad_clip: float | None = None  # max global gradient norm; None: no clipping
    precision: str = "auto"  # auto (bf16 autocast on CUDA, fp32 on CPU) | fp32 | bf16
    seed: int = 0  # seeds the initialisation, the data order and the augmentation

    # --- bookkeeping ---
    output_dir: str = "runs/train"  # checkpoints/, log.jsonl and config.yaml go here
    log_every: int = 10  # steps between JSONL log records
    checkpoint_every: int = 500  # steps between checkpoints (one is always written at the end)
    keep_checkpoints: int = 2  # newest checkpoints kept on disk (0: keep all)
    eval_task: str | None = None  # zero-shot eval on this task (e.g. digits); None: no eval
    eval_every: int = 0  # steps between zero-shot evals (0: only at the end when eval_task set)
    eval_split: str = "test"
    eval_max_samples: int | None = 2000  # evaluate on at most this many images (None: all)
    device: str = "auto"  # auto | cpu | cuda | cuda:N (under torchrun: cuda:LOCAL_RANK)
    cpu_threads: int | None = None  # torch threads when training on a CPU; None: torch's default

    def __post_init__(self) -> None:
        self.crop_scale = tuple(self.crop_scale)  # YAML gives lists


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(TrainConfig)]


def _unknown_key_error(key: str, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, field_names(), n=3, cutoff=0.5)
    hint = (
        f"did you mean {', '.join(repr(c) for c in close)}?"
        if close
        else (f"valid keys: {', '.join(field_names())}")
    )
    return ConfigError(f"unknown training config key {key!r} in {where}; {hint}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Checks ``value`` against the annotation ``tp`` (ints pass as floats); returns it."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(key, value, arg)
            except ConfigError as e:
                errors.append(e)
        raise errors[0]
    if origin is tuple:
        args = typing.get_args(tp)
        if isinstance(value, list | tuple) and len(value) == len(args):
            return tuple(_coerce(key, v, a) for v, a in zip(value, args, strict=True))
    elif tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    elif tp is float and isinstance(value, str) and _is_number(value):
        return float(value)  # YAML 1.1 reads 1e-6 (no dot) as a string
    elif tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    elif tp in (bool, str) and isinstance(value, tp):
        return value
    raise ConfigError(
        f"training config key {key!r} must be {_type_name(tp)}, got {value!r}; fix the value"
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _checked(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    hints = typing.get_type_hints(TrainConfig)
    out = {}
    for key, value in values.items():
        if key not in hints:
            raise _unknown_key_error(key, where)
        out[key] = _coerce(key, value, hints[key])
    return out


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """Parses ``key=value`` strings; each value is read as YAML (``100``, ``null``, ``[1, 2]``).

    Raises:
        ConfigError: for a pair without ``=`` or a value that is not valid YAML.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {pair!r}; e.g. --set steps=100")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as e:
            raise ConfigError(f"--set {pair!r}: the value is not valid YAML ({e})") from e
    return out


def packaged_configs() -> dict[str, Path]:
    """The example configs shipped in ``bench/train/configs/``, by name (file stem)."""
    from importlib import resources

    folder = resources.files("bench.train") / "configs"
    return {
        Path(e.name).stem: Path(str(e))
        for e in folder.iterdir()
        if e.name.endswith((".yaml", ".yml", ".json"))
    }


def resolve_config_path(spec: str | Path) -> Path:
    """A config file path, or the name of a packaged example config (``tiny-digits``).

    Raises:
        ConfigError: neither a file nor a packaged name; lists close names.
    """
    path = Path(spec)
    if path.is_file():
        return path
    packaged = packaged_configs()
    if str(spec) in packaged:
        return packaged[str(spec)]
    close = difflib.get_close_matches(str(spec), list(packaged), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    raise ConfigError(
        f"training config {str(spec)!r} is neither a file nor a packaged config; {hint}"
        f"packaged configs: {', '.join(sorted(packaged)) or 'none'}"
    )


def _read_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"cannot parse training config {str(path)!r}: {e}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"training config {str(path)!r} must hold a mapping of key: value")
    return data


def load_config(
    path: str | Path | None = None, overrides: Mapping[str, Any] | Iterable[str] = ()
) -> TrainConfig:
    """Reads a config file (YAML or JSON), applies overrides and validates the result.

    Args:
        path: A YAML/JSON file, a packaged config's name, or None for the defaults.
        overrides: ``{"key": value}`` or ``["key=value", ...]`` applied after the file.

    Returns:
        The validated :class:`TrainConfig`.

    Raises:
        ConfigError: unknown key (with close matches), wrong type or inconsistent values.
    """
    if path:
        path = resolve_config_path(path)
    values = _checked(_read_file(path), str(path)) if path else {}
    if not isinstance(overrides, Mapping):
        overrides = parse_overrides(overrides)
    values.update(_checked(overrides, "--set"))
    config = TrainConfig(**values)
    validate(config)
    return config


def _choice(config: TrainConfig, key: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, key)
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{key}={value!r} is not one of {', '.join(choices)}{hint}")


def validate(config: TrainConfig) -> None:
    """Checks values that types alone cannot (ranges, choices).

    Raises:
        ConfigError: naming the key, its value and what is allowed.
    """
    _choice(config, "precision", PRECISIONS)
    _choice(config, "data_format", DATA_FORMATS)
    positive = ("steps", "batch_size", "log_every", "checkpoint_every")
    for key in positive:
        if getattr(config, key) < 1:
            raise ConfigError(f"{key} must be >= 1, got {getattr(config, key)}")
    if config.cpu_threads is not None and config.cpu_threads < 1:
        raise ConfigError(f"cpu_threads must be >= 1 or null, got {config.cpu_threads}")
    if config.context_length is not None and config.context_length < 3:
        raise ConfigError(f"context_length must be >= 3 or null, got {config.context_length}")
    for key in ("warmup_steps", "workers", "keep_checkpoints", "eval_every"):
        if getattr(config, key) < 0:
            raise ConfigError(f"{key} must be >= 0, got {getattr(config, key)}")
    if config.lr <= 0 or config.weight_decay < 0:
        raise ConfigError(
            f"lr must be > 0 and weight_decay >= 0 (got {config.lr}, {config.weight_decay})"
        )
    lo, hi = config.crop_scale
    if not 0 < lo <= hi <= 1:
        raise ConfigError(f"crop_scale must satisfy 0 < min <= max <= 1, got {config.crop_scale}")
    if config.grad_clip is not None and config.grad_clip <= 0:
        raise ConfigError(f"grad_clip must be > 0 or null, got {config.grad_clip}")


def to_dict(config: TrainConfig) -> dict[str, Any]:
    """The config as plain YAML/JSON-safe values (tuples become lists)."""
    out = dataclasses.asdict(config)
    out["crop_scale"] = list(config.crop_scale)
    return out


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Writes the config as YAML (atomic), so a run records exactly what it used."""
    from bench.io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


__all__ = [
    "ConfigError",
    "TrainConfig",
    "load_config",
    "parse_overrides",
    "save_config",
    "to_dict",
    "validate",
]
