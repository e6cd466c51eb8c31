"""Image-caption pairs for contrastive training: CSV/TSV, WebDataset tar shards, Hugging Face.

Each source is a list of pairs with random access (``read(i) -> (PIL.Image RGB, caption)``).
A pair that cannot be read (missing file, undecodable image, empty caption) raises
:class:`CorruptSample`; :class:`PairDataset` then takes the next pair instead and counts the
skip, so one bad file never stops a run hours in and the batch size stays fixed (which the
all-gather across ranks needs).

The data order and the augmentation are pure functions of ``(seed, step)``: :class:`StepSampler`
hands every step its global batch (rank ``r`` takes the ``r``-th slice), and each sample's
random crop is drawn from a generator seeded by ``(seed, epoch, index)``. A run resumed at step
``k`` therefore sees exactly the data it would have seen, on any number of ranks or workers.
"""

from __future__ import annotations

import csv
import glob
import io
import math
import os
import random
import re
import sys
import tarfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from bench.errors import BenchError, DataMissingError

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp")
# OpenAI's normalisation constants (the same as bench.models' preprocessing).
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
MAX_CONSECUTIVE_CORRUPT = 50


class CorruptSample(Exception):  # noqa: N818 - a signal between source and dataset, not an error
    """A pair that cannot be read; ``str()`` says which and why."""


class DataError(BenchError):
    """Training data that cannot be used: the message says what was looked for."""


def decode_image(data: bytes | str | os.PathLike[str], name: str) -> Image.Image:
    """Decodes image bytes or a file into an RGB image.

    Raises:
        CorruptSample: if the file is missing or does not decode.
    """
    try:
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        with Image.open(source) as im:
            return im.convert("RGB")  # convert() forces a full decode: truncation fails here
    except FileNotFoundError as e:
        raise CorruptSample(f"{name}: file not found") from e
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise CorruptSample(f"{name}: cannot decode ({type(e).__name__}: {e})") from e


def _caption(text: Any, name: str) -> str:
    if isinstance(text, list | tuple):  # several captions per image: the first
        text = text[0] if text else ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str) or not text.strip():
        raise CorruptSample(f"{name}: empty caption")
    return text.strip()


# ----------------------------------------------------------------------------- sources


def _check_row_count(path: Path, text: str, rows: list[tuple[str, str]]) -> None:
    """A quote left open swallows the lines after it into one field: count lines against rows."""
    lines = sum(1 for line in text.splitlines()[1:] if line.strip())
    if lines == len(rows):
        return
    first = next((i for i, row in enumerate(rows) if any("\n" in f for f in row)), None)
    at = f"; row {first + 2} spans several lines" if first is not None else ""
    raise DataError(
        f"{path} has {lines} data lines but {len(rows)} rows were read{at} (an unterminated "
        "quote?); fix the quoting so that each row is one line"
    )


class CsvPairs:
    """Rows of a CSV/TSV file with an image-path column and a caption column.

    Relative image paths are taken relative to the file's folder.
    """

    def __init__(self, path: Path, image_key: str, caption_key: str, sep: str) -> None:
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                f"{path} is not UTF-8 text (byte {err.start}: {err.object[err.start : err.start + 1]!r}); "
                "save it as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"
            ) from err
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
            columns = reader.fieldnames or []
            missing = [k for k in (image_key, caption_key) if k not in columns]
            if missing:
                raise DataError(
                    f"{path} has no column {', '.join(map(repr, missing))}; its columns are "
                    f"{columns}; set image_key / caption_key to the right names"
                )
            self.rows = [(r[image_key] or "", r[caption_key] or "") for r in reader]
        except csv.Error as err:
            raise DataError(
                f"{path} line {reader.line_num}: {err} (an unterminated quote?); fix the file"
            ) from err
        _check_row_count(path, text, self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def read(self, i: int) -> tuple[Image.Image, str]:
        rel, text = self.rows[i]
        name = f"{self.path.name} row {i + 2} ({rel})"
        image_path = Path(rel) if os.path.isabs(rel) else self.path.parent / rel
        caption = _caption(text, name)
        return decode_image(image_path, name), caption


def expand_shards(spec: str) -> list[Path]:
    """Shard files from a file, a folder, a glob or a ``{000..009}`` brace range."""
    match = re.search(r"\{(\d+)\.\.(\d+)\}", spec)
    if match:
        lo, hi = match.group(1), match.group(2)
        width = len(lo)
        names = [
            spec[: match.start()] + str(n).zfill(width) + spec[match.end() :]
            for n in range(int(lo), int(hi) + 1)
        ]
        return [p for name in names for p in expand_shards(name)]
    path = Path(spec)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if _is_shard(p.name))
    if any(c in spec for c in "*?["):
        return sorted(Path(p) for p in glob.glob(spec) if _is_shard(p))
    return [path] if path.is_file() else []


def _is_shard(name: str) -> bool:
    return name.endswith((".tar", ".tar.gz", ".tgz"))


def _split_key(member: str) -> tuple[str, str]:
    """WebDataset's convention: the key is the path up to the first dot of the file name."""
    folder, _, base = member.rpartition("/")
    stem, _, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), ext.lower()


class TarPairs:
    """WebDataset tar shards: samples ``KEY.{jpg,jpeg,png,webp}`` with ``KEY.txt``.

    Uncompressed shards are read by byte offset (fast random access); compressed ones through
    :mod:`tarfile`. Samples without both an image and a caption are counted in
    ``incomplete`` and left out.
    """

    def __init__(self, shards: Sequence[Path]) -> None:
        self.shards = list(shards)
        self.items: list[tuple[int, Any, Any, str]] = []  # shard, image ref, text ref, key
        self.incomplete = 0
        for s, shard in enumerate(self.shards):
            self._index(s, shard)
        self._handles: dict[int, Any] = {}
        self._pid = -1

    def _index(self, s: int, shard: Path) -> None:
        plain = shard.name.endswith(".tar")
        groups: dict[str, dict[str, Any]] = {}
        try:
            with tarfile.open(shard) as tar:
                for m in tar:
                    if m.isfile():
                        key, ext = _split_key(m.name)
                        ref = (m.offset_data, m.size) if plain else m.name
                        groups.setdefault(key, {})[ext] = ref
        except (tarfile.TarError, OSError, EOFError) as e:
            # a shard truncated mid-way keeps the samples indexed before the damage
            print(
                f"bench train: warning: {shard} is damaged after {len(groups)} samples ({e})",
                file=sys.stderr,
            )
        for key, files in groups.items():
            image = next((files[e] for e in IMAGE_EXTS if e in files), None)
            if image is None or "txt" not in files:
                self.incomplete += 1
                continue
            self.items.append((s, image, files["txt"], key))

    def __len__(self) -> int:
        return len(self.items)

    def _bytes(self, s: int, ref: Any) -> bytes:
        if self._pid != os.getpid():  # file handles do not survive a fork into workers
            self._handles, self._pid = {}, os.getpid()
        shard = self.shards[s]
        if isinstance(ref, tuple):
            handle = self._handles.get(s) or self._handles.setdefault(s, open(shard, "rb"))
            handle.seek(ref[0])
            return handle.read(ref[1])
        tar = self._handles.get(s) or self._handles.setdefault(s, tarfile.open(shard))
        f = tar.extractfile(ref)
        if f is None:
            raise CorruptSample(f"{shard.name}:{ref}: not a regular file")
        return f.read()

    def read(self, i: int) -> tuple[Image.Image, str]:
        s, image_ref, text_ref, key = self.items[i]
        name = f"{self.shards[s].name}:{key}"
        try:
            image_bytes, text_bytes = self._bytes(s, image_ref), self._bytes(s, text_ref)
        except (tarfile.TarError, OSError, EOFError) as e:
            raise CorruptSample(f"{name}: cannot read from the shard ({e})") from e
        return decode_image(image_bytes, name), _caption(text_bytes, name)


class HFPairs:
    """A Hugging Face dataset (``save_to_disk`` folder, or parquet/JSON/arrow files)."""

    def __init__(self, path: Path, image_column: str, text_column: str, split: str) -> None:
        import datasets

        self.root = path if path.is_dir() else path.parent
        ds = _load_hf(path, split)
        missing = [c for c in (image_column, text_column) if c not in ds.column_names]
        if missing:
            raise DataError(
                f"Hugging Face dataset {path} has no column {', '.join(map(repr, missing))}; its "
                f"columns are {ds.column_names}; set hf_image_column / hf_text_column"
            )
        if isinstance(ds.features[image_column], datasets.Image):
            # decode ourselves, so a corrupt image is a skipped sample rather than a crash
            ds = ds.cast_column(image_column, datasets.Image(decode=False))
        self.ds = ds.select_columns([image_column, text_column])
        self.image_column, self.text_column = image_column, text_column

    def __len__(self) -> int:
        return len(self.ds)

    def read(self, i: int) -> tuple[Image.Image, str]:
        row = self.ds[i]
        name = f"row {i}"
        value = row[self.image_column]
        if isinstance(value, dict):  # datasets.Image(decode=False): {"bytes", "path"}
            value = value.get("bytes") or value.get("path")
        if isinstance(value, Image.Image):
            image = value.convert("RGB")
        elif isinstance(value, bytes):
            image = decode_image(value, name)
        elif isinstance(value, str) and value:
            path = value if os.path.isabs(value) else self.root / value
            image = decode_image(path, f"{name} ({value})")
        else:
            raise CorruptSample(f"{name}: no image")
        return image, _caption(row[self.text_column], name)


def _load_hf(path: Path, split: str) -> Any:
    import datasets

    if path.is_dir():
        try:
            ds = datasets.load_from_disk(str(path))
        except FileNotFoundError as e:
            raise DataError(
                f"{path} is not a dataset saved with save_to_disk (no dataset_info.json/"
                f"state.json or dataset_dict.json): {e}"
            ) from e
    else:
        builder = {".parquet": "parquet", ".arrow": "arrow", ".json": "json", ".jsonl": "json"}
        if path.suffix not in builder:
            raise DataError(
                f"cannot read {path} as a Hugging Face dataset; expected a save_to_disk folder or "
                f"a file ending in {', '.join(builder)}"
            )
        ds = datasets.load_dataset(builder[path.suffix], data_files=str(path), split="train")
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise DataError(
                f"{path} has no split {split!r}; its splits are {list(ds)}; set hf_split"
            )
        ds = ds[split]
    return ds


def _detect_format(path: Path) -> str:
    """csv, tsv, wds or hf, from the name (and for folders, their content)."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return suffix[1:]
    if suffix in (".parquet", ".arrow", ".json", ".jsonl"):
        return "hf"
    if path.is_dir():
        markers = ("dataset_info.json", "state.json", "dataset_dict.json")
        return "hf" if any((path / m).exists() for m in markers) else "wds"
    return "wds"  # a shard, a glob or a {000..009} range of shards


def open_pairs(config: Any) -> CsvPairs | TarPairs | HFPairs:
    """Opens ``config.data`` in ``config.data_format`` (``auto``: from the path).

    Raises:
        DataMissingError: the path does not exist.
        DataError: it holds no pairs, or lacks the configured columns; the message says
            what was looked for.
    """
    spec = str(config.data or "")
    if not spec:
        raise DataMissingError(
            "no training data given; set data: in the config or "
            "--set data=PATH (a CSV/TSV, tar shards or a HF dataset)"
        )
    path = Path(spec).expanduser()
    fmt = config.data_format if config.data_format != "auto" else _detect_format(path)
    pattern = fmt == "wds" and re.search(r"[*?[]|\{\d+\.\.\d+\}", spec)
    if not pattern and not path.exists():
        raise DataMissingError(
            f"training data {spec!r} does not exist (read as {fmt}); check the path in data:"
        )
    if fmt in ("csv", "tsv"):
        source: Any = CsvPairs(
            path, config.image_key, config.caption_key, "\t" if fmt == "tsv" else ","
        )
        looked = f"rows with columns {config.image_key!r} and {config.caption_key!r}"
    elif fmt == "hf":
        source = HFPairs(path, config.hf_image_column, config.hf_text_column, config.hf_split)
        looked = f"rows with columns {config.hf_image_column!r} and {config.hf_text_column!r}"
    else:
        shards = expand_shards(str(path))
        if not shards:
            raise DataMissingError(
                f"no tar shards found at {spec!r} (looked for *.tar/*.tar.gz/*.tgz: a file, a "
                "folder of them, a glob or a {000..009} range)"
            )
        source = TarPairs(shards)
        looked = (
            f"samples KEY.{{{','.join(IMAGE_EXTS)}}} + KEY.txt in {len(shards)} shard(s); "
            f"{source.incomplete} incomplete"
        )
    if len(source) == 0:
        raise DataError(
            f"training data {spec!r} holds no image-caption pairs (looked for {looked})"
        )
    return source


# ----------------------------------------------------------------------------- augmentation


def random_resized_crop_params(
    width: int,
    height: int,
    scale: tuple[float, float],
    rng: random.Random,
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop sampling, drawn from ``rng``: ``(top, left, h, w)``."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, height - h), rng.randint(0, width - w), h, w
    # fallback: the central crop at the nearest allowed aspect ratio
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        h, w = height, round(height * ratio[1])
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


class TrainTransform:
    """Random resized crop to ``resolution`` (bicubic), then OpenAI's normalisation."""

    def __init__(self, resolution: int, scale: tuple[float, float] = (0.9, 1.0)) -> None:
        self.resolution, self.scale = resolution, scale

    def __call__(self, image: Image.Image, rng: random.Random) -> torch.Tensor:
        top, left, h, w = random_resized_crop_params(image.width, image.height, self.scale, rng)
        size = [self.resolution, self.resolution]
        image = TF.resized_crop(
            image, top, left, h, w, size, interpolation=TF.InterpolationMode.BICUBIC
        )
        return TF.normalize(TF.to_tensor(image), MEAN, STD)


# ----------------------------------------------------------------------------- dataset


class PairDataset(Dataset):
    """Maps a key ``(epoch, index)`` to ``(image tensor, tokens, skipped names)``.

    Args:
        source: A pair source (``len`` and ``read``).
        transform: ``(PIL image, rng) -> tensor``.
        tokenize: ``caption -> LongTensor[context_length]``.
        seed: Seeds each sample's augmentation together with its key.
    """

    def __init__(
        self,
        source: Any,
        transform: Callable[[Image.Image, random.Random], Any],
        tokenize: Callable[[str], torch.Tensor],
        seed: int = 0,
    ) -> None:
        self.source, self.transform, self.tokenize, self.seed = source, transform, tokenize, seed

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        epoch, index = key
        rng = random.Random(f"{self.seed}/{epoch}/{index}")
        skipped: list[str] = []
        for attempt in range(MAX_CONSECUTIVE_CORRUPT):
            try:
                image, caption = self.source.read((index + attempt) % len(self.source))
            except CorruptSample as e:
                skipped.append(str(e))
                continue
            return self.transform(image, rng), self.tokenize(caption), skipped
        raise DataError(
            f"{MAX_CONSECUTIVE_CORRUPT} consecutive samples from index {index} could not be read; "
            f"the data looks broken. First: {skipped[0]}; last: {skipped[-1]}"
        )


def collate(batch: list[tuple[torch.Tensor, torch.Tensor, list[str]]]) -> dict[str, Any]:
    """Stacks images and tokens; gathers the names of skipped samples."""
    return {
        "images": torch.stack([b[0] for b in batch]),
        "tokens": torch.stack([b[1] for b in batch]),
        "skipped": [name for b in batch for name in b[2]],
    }


class StepSampler(Sampler[list[tuple[int, int]]]):
    """Yields, for each step from ``start_step`` to ``steps``, this rank's keys of the batch.

    Every epoch is a fresh seeded permutation; the last partial batch of an epoch is dropped,
    so all ranks always get ``global_batch // world_size`` samples.
    """

    def __init__(
        self,
        num_samples: int,
        global_batch: int,
        steps: int,
        *,
        seed: int = 0,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if global_batch % world_size:
            raise BenchError(
                f"batch_size {global_batch} does not divide by the world size "
                f"{world_size}; use a multiple of {world_size}"
            )
        if num_samples < global_batch:
            raise DataError(
                f"the data holds {num_samples} pairs, fewer than one batch "
                f"({global_batch}); lower batch_size or add data"
            )
        self.n, self.batch, self.steps = num_samples, global_batch, steps
        self.seed, self.start, self.rank = seed, start_step, rank
        self.local = global_batch // world_size
        self.steps_per_epoch = num_samples // global_batch

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def keys(self, step: int) -> list[tuple[int, int]]:
        """This rank's ``(epoch, index)`` keys for ``step``."""
        epoch, j = divmod(step, self.steps_per_epoch)
        perm = self._perm(epoch)
        lo = j * self.batch + self.rank * self.local
        return [(epoch, int(i)) for i in perm[lo : lo + self.local]]

    def _perm(self, epoch: int) -> np.ndarray:
        if getattr(self, "_cached", (None,))[0] != epoch:
            self._cached = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.n))
        return self._cached[1]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.steps):
            yield self.keys(step)


def make_loader(
    dataset: PairDataset, sampler: StepSampler, workers: int, pin_memory: bool = False
) -> DataLoader:
    """A DataLoader over ``sampler``'s batches (one batch per step)."""
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
    )
