"""Building a loaded :class:`~bench.models.seam.EvalModel` for the ``hf`` family."""

from __future__ import annotations

import json
from typing import Any

import torch

from bench.errors import DataMissingError
from bench.models.families.base import warn


def fetch_error(ref: str, err: Exception) -> DataMissingError:
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    return DataMissingError(
        f"cannot load hf:{ref} ({reason}); offline, pass a folder written by save_pretrained: "
        "--model hf:/path/to/folder"
    )


def processor_id(processor: Any) -> str:
    """A stable id of an image processor: its class and settings."""
    data = processor.to_dict()
    data.pop("processor_class", None)
    return f"hf:{type(processor).__name__}:" + json.dumps(data, sort_keys=True, default=str)


def build(tf: Any, source: str, config: Any, name: str, sha: str | None) -> Any:
    """The EvalModel of a CLIP or SigLIP checkpoint at ``source`` (a folder or hub id)."""
    cls = tf.CLIPModel if config.model_type == "clip" else tf.SiglipModel
    try:
        model = cls.from_pretrained(source).eval()
        processor = tf.AutoProcessor.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise fetch_error(source, err) from None
    images = processor.image_processor
    text = processor.tokenizer
    pp_id = processor_id(images)
    max_length = _max_length(config)

    def preprocess(image: Any) -> torch.Tensor:
        return images(images=image, return_tensors="pt")["pixel_values"][0]

    def tokenize(texts: list[str]) -> torch.Tensor:
        out = text(texts, padding="max_length", truncation=True, max_length=max_length,
                   return_tensors="pt")  # fmt: skip
        return out["input_ids"]

    if sha is None:
        from bench.models.seam import tensors_sha256

        sha = tensors_sha256(model)
    if config.model_type == "clip":
        return _clip(model, config, name, sha, preprocess, pp_id, tokenize)
    return _siglip(model, name, sha, preprocess, pp_id, tokenize)


def _max_length(config: Any) -> int:
    return int(config.text_config.max_position_embeddings)


def _clip(model, config, name, sha, preprocess, pp_id, tokenize) -> Any:  # noqa: ANN001
    from bench.models.convert import hf_clip_config, hf_clip_state_dict

    arch, reason = hf_clip_config(config)
    if arch is not None:
        from bench.models.loading import build_model
        from bench.models.seam import ClipModel

        fast = build_model(hf_clip_state_dict(model.state_dict()), config=arch)
        return ClipModel(fast, name, "hf", weights_sha256=sha, tokenizer=tokenize,
                         preprocess=preprocess, preprocess_id=pp_id)  # fmt: skip
    warn(f"{name}: {reason}; running transformers' CLIPModel")

    def image_features(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = model.vision_model(pixel_values=images).pooler_output
        return model.visual_projection(pooled), pooled

    def encode_text(ids: torch.Tensor) -> torch.Tensor:
        return model.text_projection(model.text_model(input_ids=ids).pooler_output)

    return _library(model, name, sha, preprocess, pp_id, tokenize, encode_text, image_features,
                    config.projection_dim, config.vision_config.hidden_size,
                    "pre-projection")  # fmt: skip


def _siglip(model, name, sha, preprocess, pp_id, tokenize) -> Any:  # noqa: ANN001
    def image_features(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = model.vision_model(pixel_values=images).pooler_output
        return pooled, pooled  # SigLIP has no projection after its MAP head

    def encode_text(ids: torch.Tensor) -> torch.Tensor:
        return model.text_model(input_ids=ids).pooler_output

    width = model.config.vision_config.hidden_size
    return _library(model, name, sha, preprocess, pp_id, tokenize, encode_text, image_features,
                    getattr(model.config.text_config, "projection_size", None) or width, width,
                    "attention-pool")  # fmt: skip


def _library(model, name, sha, preprocess, pp_id, tokenize, encode_text, image_features,  # noqa: ANN001
             embed_dim, probe_dim, probe_kind) -> Any:  # fmt: skip
    from bench.models.library import LibraryModel

    return LibraryModel(model, name, "hf", weights_sha256=sha, embed_dim=embed_dim,
                        probe_dim=probe_dim, preprocess=preprocess, preprocess_id=pp_id,
                        tokenize=tokenize, encode_text=encode_text,
                        image_features=image_features, probe_kind=probe_kind)  # fmt: skip
