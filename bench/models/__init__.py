"""CLIP encoders that load OpenAI's checkpoints unchanged, with their tokenizer and preprocessing.

The names follow openai/CLIP: ``load``, ``tokenize``, ``available_models``,
``model.encode_image``, ``model.encode_text``.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it (imported on first use, so `import bench.models`
# stays cheap and the parts can be built independently).
_EXPORTS = {
    "CLIP": "model",
    "ModelConfig": "model",
    "get_config": "model",
    "list_configs": "model",
    "build_model": "loading",
    "load_checkpoint": "loading",
    "tokenize": "tokenizer",
    "SimpleTokenizer": "tokenizer",
    "image_transform": "transforms",
    "preprocess_id": "transforms",
    "available_models": "hub",
    "get_model_info": "hub",
    "download": "hub",
    "load": "hub",
    "EvalModel": "seam",
    "ClipModel": "seam",
    "tensors_sha256": "seam",
    "resolve": "resolver",
    "families": "resolver",
    "ModelHandle": "families.base",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module = importlib.import_module(f"bench.models.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'bench.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
