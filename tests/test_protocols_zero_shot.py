"""Zero-shot: prompt ensembles (all names x all templates), 100 * cosine, metrics."""

from __future__ import annotations

import pytest
import torch
from eval_fixtures import _one_thread, tiny_model  # noqa: F401

from bench import features
from bench.models import tokenize
from bench.models.seam import ClipModel
from bench.protocols import zero_shot as zeroshot
from bench.tasks import get_task


def seam(model) -> ClipModel:
    return ClipModel(model, "tiny", "bench")


def _by_hand(model, classnames, templates) -> torch.Tensor:
    cols = []
    for names in classnames:
        names = [names] if isinstance(names, str) else names
        texts = [t.format(n) for n in names for t in templates]
        with torch.no_grad():
            emb = model.encode_text(tokenize(texts)).float()
        emb = emb / emb.norm(dim=-1, keepdim=True)
        mean = emb.mean(0)
        cols.append(mean / mean.norm())
    return torch.stack(cols, dim=1)


def test_classifier_averages_every_name_and_template():
    model = tiny_model()
    classnames = ["cat", ("dog", "puppy", "hound"), "bird"]
    templates = ["a photo of a {}.", "a drawing of a {}.", "{} in the wild."]
    # batch_size 4 splits classes across batches, exercising the per-class accumulation
    got = zeroshot.build_classifier(seam(model), classnames, templates, batch_size=4, cache=False)
    want = _by_hand(model, classnames, templates)
    assert got.shape == (model.embed_dim, 3)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got.norm(dim=0), torch.ones(3))
    # a class's synonyms matter: dropping them changes that column only
    single = zeroshot.build_classifier(seam(model), ["cat", "dog", "bird"], templates, cache=False)
    assert not torch.allclose(single[:, 1], got[:, 1])
    torch.testing.assert_close(single[:, [0, 2]], got[:, [0, 2]])


def test_task_with_several_names_per_class_uses_them_all():
    fer = get_task("fer2013")
    texts = zeroshot.class_texts(fer.class_prompts, fer.templates)
    multi = [i for i, names in enumerate(fer.class_prompts) if len(names) > 1]
    assert multi, "fer2013 has classes with several names"
    for i in multi:
        assert len(texts[i]) == len(fer.class_prompts[i]) * len(fer.templates)
        for name in fer.class_prompts[i]:
            assert fer.templates[0].replace("{}", name) in texts[i]


def test_classifier_cache_is_keyed_by_weights_and_texts():
    model = tiny_model()
    features.STATS.clear()
    a = zeroshot.build_classifier(seam(model), ["x", "y"], ["a {}."])
    b = zeroshot.build_classifier(seam(model), ["x", "y"], ["a {}."])
    assert features.STATS["classifier_cache_hits"] == 1 and torch.equal(a, b)
    zeroshot.build_classifier(seam(model), ["x", "y"], ["the {}."])
    zeroshot.build_classifier(seam(tiny_model(seed=1)), ["x", "y"], ["a {}."])
    assert features.STATS["classifier_cache_hits"] == 1


def test_logits_are_100_times_cosine():
    torch.manual_seed(0)
    f = torch.randn(5, 8) * 3
    w = torch.nn.functional.normalize(torch.randn(8, 4), dim=0)
    got = zeroshot.logits(f, w)
    want = 100 * torch.nn.functional.cosine_similarity(f[:, None, :], w.T[None], dim=-1)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-4)


def test_classifier_runs_at_the_given_precision(monkeypatch: pytest.MonkeyPatch):
    """The text tower runs under autocast at the run's precision (bf16 differs from fp32)."""
    model = seam(tiny_model())
    task = get_task("digits")
    fp32 = zeroshot.build_classifier(model, task.class_prompts, task.templates, cache=False)
    bf16 = zeroshot.build_classifier(
        model, task.class_prompts, task.templates, precision="bf16", cache=False
    )
    assert not torch.equal(fp32, bf16)
    torch.testing.assert_close(fp32, bf16, rtol=0.1, atol=0.05)
