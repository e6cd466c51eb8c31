"""The ``retrieval`` suite: zero-shot image-text retrieval (the CLIP paper, Table 13).

On each retrieval task's test split (Flickr30k 1K, MSCOCO 5K; Karpathy's splits) every image
is a query over all captions (text retrieval) and every caption a query over all images (image
retrieval); every caption of an image counts (5 per image). Similarity is the cosine of the
image embedding and the caption's text embedding. The metric (``retrieval_recall`` in
:mod:`bench.metrics`) gives R@1, R@5, R@10 both ways; ``value`` is the mean of the two R@1.

Captions: the paper prepends the prompt "a photo of" to each caption for zero-shot retrieval
(Appendix E), so the default prefix is :data:`DEFAULT_CAPTION_PREFIX` ("a photo of " then the
caption as written). ``bench run --caption-prefix TEXT`` changes it ('' for none); a result
records its prefix in ``prompts`` (``caption_prefix``, and ``templates`` as ``PREFIX{}``), and a
prefix other than the default writes its own file, ``retrieval-<variant>.json`` with variant
``prefix-none`` for '' or ``prefix-<first 8 hex of the prefix's sha256>``, so it never
replaces (or is skipped as) the paper's result. Caption embeddings are cached
(:mod:`bench.features.text`).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import torch

from bench.errors import BenchError
from bench.features.text import text_features
from bench.metrics import score
from bench.suites.base import SUITES, Suite
from bench.suites.context import RunContext, ci_fields

SUITE = "retrieval"
DEFAULT_CAPTION_PREFIX = "a photo of "


def caption_variant(prefix: str) -> str | None:
    """The result file's variant for a caption prefix (none for the paper's)."""
    if prefix == DEFAULT_CAPTION_PREFIX:
        return None
    if prefix == "":
        return "prefix-none"
    return "prefix-" + hashlib.sha256(prefix.encode()).hexdigest()[:8]


def captions_of(ctx: RunContext, task: Any, rows: torch.Tensor) -> list[list[str]]:
    """The captions of the images behind the feature rows (their dataset indices).

    Raises:
        BenchError: the task's loader gives no captions (not a retrieval source).
    """
    dataset = task.dataset("test", root=ctx.settings.data_root)
    captions = getattr(dataset, "captions", None)
    if captions is None:
        raise BenchError(
            f"task {task.name!r}: its loader {task.source.loader!r} gives no captions; a "
            "retrieval task needs a caption loader such as 'karpathy'"
        )
    return [list(captions[int(i)]) for i in rows]


def retrieval_result(ctx: RunContext, task: Any, prefix: str) -> Any:
    """Both retrieval directions on a task's test split (not yet written)."""
    t0 = time.perf_counter()
    test = ctx.features(task, "test")
    per_image = captions_of(ctx, task, test.labels)
    texts = [prefix + c for caps in per_image for c in caps]
    text_image = torch.tensor([i for i, caps in enumerate(per_image) for _ in caps])
    t1 = time.perf_counter()
    text_emb = text_features(ctx.model, texts, ctx.settings)
    ctx.check(text_emb, "caption embedding", task, "test")
    image_emb = test.embedding.float()
    image_emb = image_emb / image_emb.norm(dim=-1, keepdim=True)
    sim = image_emb @ text_emb.T
    ctx.check(sim, "image-caption similarity", task, "test")
    s = score(task.metric, sim, text_image)
    return ctx.new_result(
        task,
        SUITE,
        value=s.value,
        metrics=s.parts,
        split_sizes={"test": len(test), "test_captions": len(texts)},
        prompts={"classnames": [], "templates": [prefix + "{}"], "caption_prefix": prefix},
        variant=caption_variant(prefix),
        timings={"text": time.perf_counter() - t1},
        started=t0,
        **ci_fields(task.metric, sim, text_image, None, s.value),
    )


def run_retrieval(ctx: RunContext, tasks: list[Any], suite: Suite) -> None:
    """One result per task, for the run's caption prefix."""
    prefix = DEFAULT_CAPTION_PREFIX if ctx.caption_prefix is None else ctx.caption_prefix
    for task in tasks:
        if ctx.done(task, suite.name, variant=caption_variant(prefix)) is None:
            ctx.write(retrieval_result(ctx, task, prefix))


def is_retrieval_task(task: Any) -> bool:
    """Whether a task is an image-text retrieval task (``kind: retrieval``)."""
    return task.kind == "retrieval"


SUITES.register(
    SUITE,
    Suite(
        SUITE,
        "zero-shot image-text retrieval, R@1/5/10 both ways (Flickr30k, MSCOCO)",
        tag="retrieval",
        runner=run_retrieval,
        accepts=is_retrieval_task,
        requirement="a retrieval task (kind: retrieval, e.g. flickr30k, mscoco)",
        order=50,
    ),
)
