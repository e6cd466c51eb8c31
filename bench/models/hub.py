"""The nine OpenAI CLIP models: names, official weights, verified downloads and ``load``.

Weights are downloaded once to ``bench.io.cache_dir()/models/<file>`` (``$BENCH_CACHE``,
default ``~/.cache/bench``) by :mod:`bench.download` (the downloader datasets use too): into
``<file>.part``, renamed only after its sha256 matches the official one, resumed with an HTTP
range request (or restarted when the server ignores it). A cached file is hashed once and the result is
remembered in ``<file>.sha256`` together with the file's size and mtime, so a file that changes
afterwards (truncated, overwritten) is hashed again and never used unverified.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from bench.download import fetch, locked, reject
from bench.errors import DataMissingError, UnknownNameError
from bench.io import atomic_write_json, cache_dir, sha256_file
from bench.models.loading import CHECKPOINT_SUFFIXES
from bench.registry import Registry

if TYPE_CHECKING:
    from PIL import Image

    from bench.models.model import CLIP

_BASE_URL = "https://openaipublic.azureedge.net/clip/models"


@dataclass(frozen=True)
class ModelInfo:
    """One of OpenAI's published CLIP models.

    Attributes:
        name: OpenAI's name (``ViT-B/32``).
        aliases: Other accepted spellings (open_clip's ``ViT-B-32``, ...).
        url: The official checkpoint (a TorchScript archive with fp16 weights).
        sha256: The checkpoint's sha256 (also the URL's second-to-last segment).
        resolution: Input image side in pixels.
        config: Name of the architecture in ``bench/models/configs/``.
        parameters: Learned parameters (BatchNorm running statistics excluded).
    """

    name: str
    aliases: tuple[str, ...]
    url: str
    sha256: str
    resolution: int
    config: str
    parameters: int

    @property
    def filename(self) -> str:
        """The checkpoint's file name (``ViT-B-32.pt``)."""
        return self.url.rsplit("/", 1)[-1]


MODELS: Registry[ModelInfo] = Registry("model", "bench models")

# URLs: openai/CLIP clip/clip.py `_MODELS` (the URL's 64-hex segment is the file's sha256).
# Parameters: ../shared/reference/clip/state_dict_spec.json, state-dict entries less BatchNorm
# running statistics (tests check them against the configs built on the meta device).
_TABLE = (
    # name, aliases, "<sha256>/<file>", resolution, config, parameters
    ("RN50", (), "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/RN50.pt",
     224, "RN50", 102_007_137),
    ("RN101", (), "8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599/RN101.pt",
     224, "RN101", 119_688_033),
    ("RN50x4", (), "7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd/RN50x4.pt",
     288, "RN50x4", 178_300_601),
    ("RN50x16", (), "52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa/RN50x16.pt",
     384, "RN50x16", 290_979_217),
    ("RN50x64", (), "be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c/RN50x64.pt",
     448, "RN50x64", 623_258_305),
    ("ViT-B/32", ("ViT-B-32",),
     "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
     224, "ViT-B-32", 151_277_313),
    ("ViT-B/16", ("ViT-B-16",),
     "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt",
     224, "ViT-B-16", 149_620_737),
    ("ViT-L/14", ("ViT-L-14",),
     "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836/ViT-L-14.pt",
     224, "ViT-L-14", 427_616_513),
    ("ViT-L/14@336px", ("ViT-L-14-336", "ViT-L/14-336px", "ViT-L-14-336px"),
     "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02/ViT-L-14-336px.pt",
     336, "ViT-L-14-336", 427_944_193),
)  # fmt: skip

for _name, _aliases, _file, _res, _config, _params in _TABLE:
    _sha, _ = _file.split("/")
    MODELS.register(
        _name,
        ModelInfo(_name, _aliases, f"{_BASE_URL}/{_file}", _sha, _res, _config, _params),
        aliases=_aliases,
    )


def available_models() -> list[str]:
    """OpenAI's names of the nine models, in OpenAI's order."""
    return MODELS.names()


def _canonical(name: str) -> str:
    """The registered name for ``name``, an alias, or either spelled in another case."""
    if name in MODELS:
        return MODELS.canonical(name)
    folded = {key.casefold(): key for key in [*MODELS.names(), *_all_aliases()]}
    key = folded.get(name.casefold())
    if key is None:
        raise UnknownNameError(MODELS.unknown_message(name))
    return MODELS.canonical(key)


def _all_aliases() -> list[str]:
    return [alias for _, info in MODELS.items() for alias in info.aliases]


def get_model_info(name: str) -> ModelInfo:
    """The registry entry of ``name`` (OpenAI's name, an open_clip spelling, any case).

    Raises:
        UnknownNameError: naming the close matches and ``bench models``.
    """
    return MODELS.get(_canonical(name))


def models_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """Where weights are cached: ``root``, else ``cache_dir()/models``."""
    return Path(root).expanduser() if root else cache_dir() / "models"


def weights_path(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The path where the weights of ``name`` are (or will be) cached."""
    return models_dir(root) / get_model_info(name).filename


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _marked_verified(path: Path, sha256: str) -> bool:
    """Whether ``path`` was hashed to ``sha256`` and has not changed since."""
    try:
        marker = json.loads(_marker(path).read_text(encoding="utf-8"))
        return marker == {"sha256": sha256, **_stat_key(path)}
    except (OSError, ValueError):
        return False


def _verify(path: Path, sha256: str) -> bool:
    """Whether ``path`` has the sha256 ``sha256``; hashes at most once per file version."""
    if _marked_verified(path, sha256):
        return True
    if sha256_file(path) != sha256:
        return False
    atomic_write_json(_marker(path), {"sha256": sha256, **_stat_key(path)})
    return True


def cache_status(name: str, root: str | os.PathLike[str] | None = None) -> str:
    """``"verified"``, ``"unverified"`` (present, not hashed yet), ``"partial"`` or ``"missing"``.

    Cheap: never hashes the file.
    """
    info = get_model_info(name)
    path = weights_path(name, root)
    if path.is_file():
        return "verified" if _marked_verified(path, info.sha256) else "unverified"
    return "partial" if _part(path).is_file() else "missing"


def ensure_weights(
    name: str, root: str | os.PathLike[str] | None = None, progress: bool = True
) -> Path:
    """The path of the verified official weights of ``name``, downloading them if needed.

    Separate from :func:`load` so that a runner can check that a task's data is present
    before fetching a large checkpoint for it. A file at the path whose sha256 is wrong (put
    there by hand, say) is kept as ``<file>.rejected``; a URL that failed once in this process
    fails at once after (see :mod:`bench.download`).

    Args:
        name: A model name (see :func:`available_models`; open_clip spellings work too).
        root: Folder for the weights; default ``cache_dir()/models``.
        progress: Show a progress bar (tqdm) on stderr.

    Returns:
        The path of the checkpoint, whose sha256 matches the official one.

    Raises:
        UnknownNameError: if ``name`` is not one of the nine.
        DataMissingError: if the download fails (offline, HTTP error); the message names the
            URL, the expected path and ``--weights PATH``.
        ChecksumError: if the downloaded file's sha256 is wrong (the file is deleted).
    """
    info = get_model_info(name)
    target = models_dir(root) / info.filename
    if target.is_file() and _marked_verified(target, info.sha256):
        return target  # cheap: no hashing, no lock
    with locked(target):
        if target.is_file():
            if _verify(target, info.sha256):
                return target
            reject(target, f"sha256 {sha256_file(target)}, expected {info.sha256}")
    hint = (
        f"without network, put the file (sha256 {info.sha256}) at {target}, or pass "
        "--weights PATH to use a local checkpoint"
    )
    fetch(
        info.url,
        target,
        f"sha256:{info.sha256}",
        what=f"the {info.name} weights",
        hint=hint,
        progress=progress,
    )
    atomic_write_json(_marker(target), {"sha256": info.sha256, **_stat_key(target)})
    return target


download = ensure_weights  # the name of earlier releases


def _resolve(
    name_or_path: str | os.PathLike[str], weights: str | os.PathLike[str] | None
) -> tuple[Path, ModelInfo | None]:
    """(checkpoint path, registry entry or None) for :func:`load`."""
    text = os.fspath(name_or_path)
    try:
        info: ModelInfo | None = get_model_info(text)
    except UnknownNameError:
        info = None
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise DataMissingError(
                f"--weights file {path} does not exist; check the path, or leave --weights out "
                "to download the official weights"
            )
        return path, info
    if info is not None:
        return ensure_weights(info.name), info
    path = Path(text).expanduser()
    if path.is_file():
        return path, None
    if path.suffix in CHECKPOINT_SUFFIXES or text.startswith((".", "/", "~")):
        raise DataMissingError(
            f"no checkpoint file at {path}; check the path, or give a model name "
            "(list them with `bench models`)"
        )
    raise UnknownNameError(
        MODELS.unknown_message(text) + "; a checkpoint file path is accepted too"
    )


def load(
    name_or_path: str | os.PathLike[str],
    device: str | torch.device | None = None,
    precision: str | None = None,
    weights: str | os.PathLike[str] | None = None,
) -> tuple[CLIP, Callable[[Image.Image], torch.Tensor]]:
    """A CLIP model in eval mode and its preprocessing, like OpenAI's ``clip.load``.

    Args:
        name_or_path: A model name (``ViT-B/32``, ``ViT-B-32``, ...), whose official weights
            are downloaded once and verified, or the path of a checkpoint file.
        device: ``cpu``, ``cuda`` or ``cuda:N``; default CUDA when available, else CPU.
        precision: ``fp32``, ``bf16`` or ``fp16``: the dtype of the convolution, linear,
            attention and projection weights (norms and embeddings stay fp32; LayerNorm runs
            in fp32). Default as OpenAI: ``fp16`` on CUDA, ``fp32`` on CPU.
        weights: A local checkpoint to use instead of downloading (``--weights PATH``). With a
            registered name, a file whose sha256 differs from the official one loads with a
            warning (a fine-tuned checkpoint, say); its own hash is ``model.weights_sha256``.

    Returns:
        ``(model, preprocess)``: the model on ``device``, and
        ``image_transform(model.image_resolution)``.

    Raises:
        UnknownNameError: for a name that is neither registered nor an existing file.
        DataMissingError: for a missing file, or a download that fails.
        ChecksumError: for downloaded weights with the wrong sha256.
        BenchError: for a bad device or precision, or a file that is no CLIP checkpoint.
    """
    from bench.models.loading import load_checkpoint
    from bench.models.transforms import image_transform
    from bench.settings import resolve_device, resolve_precision

    dev = resolve_device(device)
    precision = resolve_precision(precision, dev)
    path, info = _resolve(name_or_path, weights)
    model = load_checkpoint(path)
    if info is not None and weights is not None and model.weights_sha256 != info.sha256:
        warnings.warn(
            f"{path} is not the official {info.name} checkpoint (sha256 {model.weights_sha256}, "
            f"official {info.sha256}); using it as given",
            stacklevel=2,
        )
    model = model.set_precision(precision).eval().to(dev)
    return model, image_transform(model.image_resolution)
