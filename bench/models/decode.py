"""Batched JPEG decoding and CLIP preprocessing on the GPU (``--decode gpu``).

OpenAI's preprocessing runs in PIL on the CPU, one image at a time
(:func:`bench.models.transforms.image_transform`). This module does the same steps on a
batch of encoded files on the accelerator: ``torchvision.io.decode_jpeg`` on CUDA (nvJPEG),
then per image a bicubic, antialiased resize of the short side to the model's resolution, a
centre crop, scaling to [0, 1] and CLIP's normalisation. The result is not bit-identical to
PIL's: nvJPEG's IDCT and chroma upsampling differ from libjpeg-turbo's, and the resize runs in
float rather than in PIL's 8-bit passes. ``benchmarks/gpu.py`` and
``tests/test_models_decode.py`` measure the difference (pixels, features, accuracy); it is
an option, off by default, and its cache entries are keyed apart (:func:`preprocess_id`).

Only JPEG files take this path; other files (PNG, ...) and JPEGs that nvJPEG refuses (CMYK,
progressive with odd sampling) are decoded by PIL on the CPU and follow the same tensor steps.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Sequence

import torch
from PIL import Image
from torchvision.io import ImageReadMode, decode_image, decode_jpeg
from torchvision.transforms.functional import InterpolationMode, center_crop, resize

from bench.errors import CorruptImageError
from bench.models.transforms import MEAN, STD

_VERSION = 1
JPEG_MAGIC = b"\xff\xd8\xff"


def preprocess_id(resolution: int, device_type: str) -> str:
    """A stable name for this preprocessing, distinct from the PIL path's, for cache keys."""
    return f"tensor-decode-v{_VERSION}-{device_type}-r{resolution}-bicubic-aa-centercrop-norm"


def _decode_one_cpu(data: bytes, name: str) -> torch.Tensor:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return pil_to_uint8(image)
    except (OSError, ValueError, SyntaxError) as e:
        raise CorruptImageError(name, str(e)) from e


Payload = bytes | torch.Tensor  # an encoded file, or an already decoded uint8 [3, H, W]
#: ``(position in the batch, file name, reason)`` of an image that did not decode.
Failure = tuple[int, str, str]


def decode_batch(
    blobs: Sequence[Payload],
    names: Sequence[str],
    device: torch.device,
    errors: list[Failure] | None = None,
) -> list[torch.Tensor | None]:
    """Decodes encoded images to ``uint8 [3, H, W]`` tensors on ``device``.

    JPEGs are decoded in one batched call (nvJPEG on CUDA, libjpeg-turbo on the CPU); the rest,
    and any JPEG the batched decoder refuses, by PIL. A payload that is already a ``uint8``
    tensor (an item that is no plain file) is only moved to ``device``.

    Args:
        blobs: Encoded files or decoded tensors.
        names: Each item's name, for error messages.
        device: Where the tensors go (and where JPEGs are decoded).
        errors: If given, an image that does not decode is appended here and its slot is
            ``None``; else it raises.

    Raises:
        CorruptImageError: a file that no decoder can read (names the file), ``errors`` unset.
    """
    out: list[torch.Tensor | None] = [None] * len(blobs)
    for i, b in enumerate(blobs):
        if isinstance(b, torch.Tensor):
            out[i] = b.to(device, non_blocking=True)
    jpeg = [i for i, b in enumerate(blobs) if out[i] is None and b[:3] == JPEG_MAGIC]
    if jpeg:
        datas = [torch.frombuffer(bytearray(blobs[i]), dtype=torch.uint8) for i in jpeg]
        try:
            with warnings.catch_warnings():  # torchvision 0.29 points to torchcodec; still works
                warnings.simplefilter("ignore", DeprecationWarning)
                decoded = decode_jpeg(datas, mode=ImageReadMode.RGB, device=device)
            for i, t in zip(jpeg, decoded, strict=True):
                out[i] = t
        except RuntimeError:  # one bad file fails the batch: fall back one by one
            for i in jpeg:
                out[i] = _guarded(_decode_single, blobs[i], names[i], device, i, errors)
    done = set(jpeg)
    for i, t in enumerate(out):
        if t is None and i not in done:
            out[i] = _guarded(_decode_cpu_to, blobs[i], names[i], device, i, errors)
    return out


def _guarded(
    fn: Callable[[bytes, str, torch.device], torch.Tensor],
    data: bytes,
    name: str,
    device: torch.device,
    i: int,
    errors: list[Failure] | None,
) -> torch.Tensor | None:
    try:
        return fn(data, name, device)
    except CorruptImageError as e:
        if errors is None:
            raise
        errors.append((i, e.path, e.reason))
        return None


def _decode_cpu_to(data: bytes, name: str, device: torch.device) -> torch.Tensor:
    return _decode_one_cpu(data, name).to(device)


def _decode_single(data: bytes, name: str, device: torch.device) -> torch.Tensor:
    try:
        t = torch.frombuffer(bytearray(data), dtype=torch.uint8)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return decode_image(t, mode=ImageReadMode.RGB).to(device)
    except RuntimeError:
        return _decode_one_cpu(data, name).to(device)


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """An image (converted to RGB) as ``uint8 [3, H, W]``: the tensor path's fallback payload."""
    rgb = image.convert("RGB")
    return (
        torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8)
        .view(rgb.height, rgb.width, 3)
        .permute(2, 0, 1)
        .contiguous()
    )


def openai_resolution(model_preprocess_id: str) -> int | None:
    """The resolution of OpenAI's preprocessing named by ``model_preprocess_id``, else ``None``.

    The tensor path reproduces OpenAI's preprocessing only; a model preprocessed otherwise
    (another mean, another resize) must not take it.
    """
    from bench.models.transforms import preprocess_id as pil_id

    found = re.search(r"-r(\d+)-", model_preprocess_id)
    if found is None:
        return None
    resolution = int(found.group(1))
    return resolution if pil_id(resolution) == model_preprocess_id else None


def preprocess_batch(images: Sequence[torch.Tensor], resolution: int) -> torch.Tensor:
    """CLIP's preprocessing on ``uint8 [3, H, W]`` tensors -> ``float32 [N, 3, R, R]``."""
    mean = torch.tensor(MEAN, device=images[0].device).view(3, 1, 1)
    std = torch.tensor(STD, device=images[0].device).view(3, 1, 1)
    out = []
    for img in images:
        x = resize(
            img.float(), [resolution], interpolation=InterpolationMode.BICUBIC, antialias=True
        )
        x = center_crop(x, [resolution, resolution])
        out.append(((x.clamp(0, 255) / 255.0) - mean) / std)
    return torch.stack(out)


def decode_and_preprocess(
    blobs: Sequence[Payload], names: Sequence[str], resolution: int, device: torch.device
) -> torch.Tensor:
    """Encoded image files -> the model's input batch on ``device``.

    Raises:
        CorruptImageError: a file that does not decode (names it).
    """
    return preprocess_batch(decode_batch(blobs, names, device), resolution)  # type: ignore[arg-type]


def decode_kept(
    blobs: Sequence[Payload], names: Sequence[str], resolution: int, device: torch.device
) -> tuple[torch.Tensor | None, list[int], list[Failure]]:
    """Like :func:`decode_and_preprocess`, but keeps going past images that do not decode.

    Returns:
        ``(batch of the decoded ones or None, their positions, the failures)``.
    """
    errors: list[Failure] = []
    decoded = decode_batch(blobs, names, device, errors)
    kept = [i for i, t in enumerate(decoded) if t is not None]
    if not kept:
        return None, kept, errors
    return preprocess_batch([decoded[i] for i in kept], resolution), kept, errors  # type: ignore[misc]


__all__ = [
    "decode_and_preprocess",
    "decode_batch",
    "decode_kept",
    "openai_resolution",
    "pil_to_uint8",
    "preprocess_batch",
    "preprocess_id",
]
