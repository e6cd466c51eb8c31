"""Image features, extracted once per split and cached on disk, verified on every load.

``extract(model, task, split, settings, fold=None) -> SplitFeatures`` is the one entry point:
both feature kinds (the joint embedding for zero-shot, the paper's probe features for linear
probes) from one pass of the image tower, with the labels, the metric's side data, the split's
found and expected sizes, and the corrupt images skipped.

- :mod:`bench.features.cache`: keys (with a fingerprint of the split's files), final files and
  resumable chunks, each holding a digest of its tensors that is checked on load.
- :mod:`bench.features.encode`: the ordered loader and the chunked encoder.
- :mod:`bench.features.extractor`: :func:`extract` and :class:`SplitFeatures`.

Extraction writes a chunk file every ``encode.DEFAULT_CHUNK_BATCHES`` batches under
``<cache>/features/<key>.partial/``; a killed run leaves only chunks, which the next run
resumes from (filling the gaps between the chunks it finds). The final ``<key>.safetensors``
is written atomically once all chunks are in. Under torchrun every rank extracts its share of
the chunks (:func:`extract_shard`) before rank 0 reads them all.
"""

from __future__ import annotations

from bench.features.cache import (
    FEATURE_FORMAT_VERSION,
    KINDS,
    STATS,
    FeatureCache,
    feature_key,
    files_fingerprint,
    tensors_digest,
)
from bench.features.encode import concat_chunks, encode_chunks, make_loader
from bench.features.extractor import (
    Pipeline,
    SplitFeatures,
    check_size,
    extract,
    extract_shard,
    input_pipeline,
    shard_ranges,
    side_data,
)

__all__ = [
    "FEATURE_FORMAT_VERSION",
    "KINDS",
    "STATS",
    "Pipeline",
    "FeatureCache",
    "SplitFeatures",
    "check_size",
    "concat_chunks",
    "encode_chunks",
    "extract",
    "extract_shard",
    "feature_key",
    "files_fingerprint",
    "input_pipeline",
    "make_loader",
    "shard_ranges",
    "side_data",
    "tensors_digest",
]
