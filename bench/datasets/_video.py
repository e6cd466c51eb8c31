"""The middle frame of a video clip, decoded with PyAV (``pip install av``).

Decoding walks the stream to frame ``n // 2``, where ``n`` is the container's frame count;
when the container does not state it, a first pass counts the frames.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from bench.errors import BenchError, CorruptImageError, DataMissingError


def _av():
    try:
        import av
    except ImportError as e:
        raise BenchError(
            "video tasks need PyAV to decode clips: pip install av (or use pre-extracted "
            "middle frames, see the loader's docs)"
        ) from e
    return av


def _count(av, path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def middle_frame(path: str | os.PathLike[str]) -> Image.Image:
    """The middle frame (index ``n // 2`` of ``n``) of the clip at ``path``, as RGB.

    Raises:
        DataMissingError: the file is missing.
        CorruptImageError: the clip cannot be decoded or has no frames (names the file).
    """
    av = _av()
    path = Path(path)
    if not path.exists():
        raise DataMissingError(f"video file {path} is missing; download the dataset again")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise CorruptImageError(str(path), "no video stream")
            total = container.streams.video[0].frames
        total = total or _count(av, path)
        if total == 0:
            raise CorruptImageError(str(path), "no frames")
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i == total // 2:
                    return frame.to_image().convert("RGB")
        raise CorruptImageError(str(path), f"stream ended before frame {total // 2}")
    except (av.error.FFmpegError, ValueError, OSError) as e:
        raise CorruptImageError(str(path), str(e)) from e


def middle_frames(clips: list[Path], frames: list[Path], i: int) -> Image.Image:
    """Clip ``i``'s pre-extracted middle frame where it exists, else its decoded middle frame."""
    if frames[i].exists():
        from bench.datasets._common import open_image

        return open_image(frames[i])
    return middle_frame(clips[i])
