"""The ``open_clip`` family: ``open_clip:ARCH --weights PATH`` or ``open_clip:ARCH/PRETRAINED``.

OpenAI-architecture configurations (see :mod:`bench.models.convert`) run on the in-repo
encoders; the rest (timm towers, SigLIP, CoCa, EVA, custom text towers) on open_clip's model.
Either way the tokenizer and image preprocessing are open_clip's for that architecture and tag.
Weights are read by bench's safe reader (no pickled objects) in both paths.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import torch

from bench.errors import BenchError, DataMissingError, UnknownNameError
from bench.io import sha256_file
from bench.models.families.base import Family, ModelHandle, needs_extra, register, slug
from bench.models.families.openai import existing_file

EXTRA = "open_clip"


def _oc() -> Any:
    try:
        import open_clip
    except ImportError:
        raise needs_extra("open_clip_torch", EXTRA, "open_clip") from None
    return open_clip


def _arch_config(oc: Any, arch: str, tag: str) -> dict[str, Any]:
    cfg = oc.get_model_config(arch)
    if cfg is None:
        close = difflib.get_close_matches(arch, oc.list_models(), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise UnknownNameError(
            f"unknown open_clip architecture {arch!r}; {hint}(list them with `bench models "
            "--family open_clip`)"
        )
    cfg = dict(cfg)
    if tag:
        tags = oc.list_pretrained_tags_by_model(arch)
        if tag not in tags:
            raise UnknownNameError(
                f"unknown open_clip pretrained tag {tag!r} for {arch}; valid choices: "
                f"{', '.join(tags) or 'none'} (or pass a file: --model open_clip:{arch} "
                "--weights PATH)"
            )
        if oc.get_pretrained_cfg(arch, tag).get("quick_gelu"):
            cfg["quick_gelu"] = True
    return cfg


def _preprocess_cfg(oc: Any, arch: str, tag: str, cfg: dict[str, Any]) -> dict[str, Any]:
    from dataclasses import asdict

    from open_clip.transform import PreprocessCfg, merge_preprocess_dict

    pp = merge_preprocess_dict(asdict(PreprocessCfg()), cfg.get("preprocess_cfg", {}))
    if tag:
        pp = merge_preprocess_dict(pp, oc.get_pretrained_cfg(arch, tag))
    size = cfg["vision_cfg"].get("image_size", 224)
    pp["size"] = size
    return pp


def _resolve(ref: str, weights: str | None) -> ModelHandle:
    arch, _, tag = ref.partition("/")
    if tag and weights:
        raise BenchError(
            f"open_clip:{ref} names pretrained weights and --weights {weights} names a file; "
            f"give one: --model open_clip:{arch} --weights {weights}"
        )
    if not tag and not weights:
        raise BenchError(
            f"open_clip:{arch} needs its weights: --model open_clip:{arch} --weights PATH, or "
            f"a pretrained tag, --model open_clip:{arch}/TAG (list: bench models --family "
            "open_clip)"
        )
    oc = _oc()
    cfg = _arch_config(oc, arch, tag)
    if weights:
        path = existing_file(weights)
        name, sha = f"open_clip:{arch}+{path.stem}", sha256_file(path)
    else:
        path, name, sha = None, f"open_clip:{arch}/{tag}", None

    def load(device: torch.device, precision: str) -> Any:
        file = path or _download(oc, arch, tag)
        return _build(oc, arch, tag, cfg, file, name, sha or sha256_file(file)).to(device)

    return ModelHandle(name, "open_clip", slug(name), sha, (), _with_precision(load))


def _with_precision(load: Any) -> Any:
    def wrapped(device: torch.device, precision: str) -> Any:
        model = load(device, precision)
        if precision != "fp32":
            from bench.models.model import PRECISIONS

            if hasattr(model.module, "set_precision"):
                model.module.set_precision(precision)
            else:
                model.module.to(PRECISIONS[precision])
        return model

    return wrapped


def _download(oc: Any, arch: str, tag: str) -> Path:
    try:
        file = oc.download_pretrained(oc.get_pretrained_cfg(arch, tag))
    except Exception as err:  # noqa: BLE001 - the hub client raises many kinds
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise DataMissingError(
            f"cannot download open_clip weights {arch}/{tag} ({reason}); offline, pass the "
            f"file: --model open_clip:{arch} --weights PATH"
        ) from None
    if not file:
        raise DataMissingError(
            f"open_clip has no download for {arch}/{tag}; pass the file: --model "
            f"open_clip:{arch} --weights PATH"
        )
    return Path(file)


def _build(
    oc: Any, arch: str, tag: str, cfg: dict[str, Any], file: Path, name: str, sha: str
) -> Any:
    from bench.models.convert import openclip_config
    from bench.models.loading import NON_WEIGHT_KEYS, build_model, read_state_dict

    pp = _preprocess_cfg(oc, arch, tag, cfg)
    from open_clip.transform import PreprocessCfg, image_transform_v2

    preprocess = image_transform_v2(PreprocessCfg(**pp), is_train=False)
    preprocess_id = "open_clip:" + json.dumps(pp, sort_keys=True, default=str)
    tokenizer = oc.get_tokenizer(arch)
    sd = {k: v for k, v in read_state_dict(file).items() if k not in NON_WEIGHT_KEYS}
    config, _ = openclip_config(cfg)
    if config is not None:
        from bench.models.seam import ClipModel

        model = build_model(sd, config=config)
        return ClipModel(
            model,
            name,
            "open_clip",
            weights_sha256=sha,
            tokenizer=tokenizer,
            preprocess=preprocess,
            preprocess_id=preprocess_id,
        )
    return _native(oc, arch, cfg, sd, name, sha, preprocess, preprocess_id, tokenizer)


def _native(oc, arch, cfg, sd, name, sha, preprocess, preprocess_id, tokenizer) -> Any:  # noqa: ANN001
    from bench.models.library import LibraryModel

    model = oc.create_model(arch, pretrained=None, force_quick_gelu=bool(cfg.get("quick_gelu")))
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise BenchError(
            f"the weights do not fit open_clip's {arch} ({first[:200]}); check the "
            "architecture name"
        ) from None
    model.eval()
    visual = model.visual

    def image_features(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if hasattr(visual, "_embeds") and hasattr(visual, "_pool"):
            pooled, _ = visual._pool(visual.transformer(visual._embeds(images)))
            emb = pooled @ visual.proj if visual.proj is not None else pooled
            return emb, pooled
        emb = model.encode_image(images)
        return emb, emb

    with torch.no_grad():
        size = cfg["vision_cfg"].get("image_size", 224)
        size = size if isinstance(size, (list, tuple)) else (size, size)
        emb, probe = image_features(torch.zeros(1, 3, *size))
    return LibraryModel(
        model,
        name,
        "open_clip",
        weights_sha256=sha,
        embed_dim=emb.shape[1],
        probe_dim=probe.shape[1],
        preprocess=preprocess,
        preprocess_id=preprocess_id,
        tokenize=tokenizer,
        encode_text=model.encode_text,
        image_features=image_features,
        probe_kind="pre-projection" if probe is not emb else "embedding",
    )


def _list() -> list[str]:
    oc = _oc()
    return [f"open_clip:{arch}/{tag}" for arch, tag in oc.list_pretrained()]


FAMILY = register(
    Family(
        name="open_clip",
        summary="open_clip models (LAION, DataComp, DFN, MetaCLIP, SigLIP, EVA, CoCa ...)",
        syntax="open_clip:ARCH --weights PATH | open_clip:ARCH/PRETRAINED",
        extra=EXTRA,
        resolve=_resolve,
        list_names=_list,
    )
)
