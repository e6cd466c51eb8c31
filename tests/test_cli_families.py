"""`bench run --suite zero-shot --tasks digits` through every model family (issue 11, point 5).

Each run goes through the CLI (``bench.cli.main``) with random weights, and its accuracy must
equal zero-shot computed here with the family's *own* library: its preprocessing, its tokenizer
and its encoders (open_clip, transformers, OpenAI's ``clip`` package), not bench's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from eval_fixtures import _one_thread, run_json  # noqa: F401

from bench.results import read_result
from bench.tasks import get_task

open_clip = pytest.importorskip("open_clip")
tf = pytest.importorskip("transformers")

from test_models_families import oc_archs, save_hf_clip, save_hf_siglip  # noqa: E402,F401


def _accuracy(encode_image, encode_texts, preprocess) -> tuple[float, float]:  # noqa: ANN001
    """Zero-shot top-1 and top-5 accuracy on digits test with the paper's ensemble, from the
    given callables. The predictions must spread over several classes, or equal accuracies
    would say little."""
    task = get_task("digits")
    test = task.dataset("test")
    with torch.no_grad():
        rows = []
        for name in task.classnames:
            e = encode_texts([t.replace("{}", name) for t in task.templates]).float()
            e = e / e.norm(dim=1, keepdim=True)
            rows.append(e.mean(0) / e.mean(0).norm())
        weights = torch.stack(rows)
        # every class's text differs (a context too short for the prompt would make them tie)
        assert (weights @ weights.T - torch.eye(len(rows))).max() < 1 - 1e-4
        images = torch.stack([preprocess(test[i][0]) for i in range(len(test))])
        emb = encode_image(images).float()
        top5 = (emb / emb.norm(dim=1, keepdim=True) @ weights.T).topk(5, dim=1).indices
    labels = torch.as_tensor(test.labels)[:, None]
    assert len(top5[:, 0].unique()) >= 3, top5[:, 0].bincount()
    hits = [int((top5[:, :k] == labels).any(1).sum()) for k in (1, 5)]
    return tuple(100 * h / len(test) for h in hits)


def _bench_run(out: Path, model: str, *extra: str) -> tuple[dict, object]:
    summary = run_json("run", "--model", model, *extra, "--suite", "zero-shot",
                       "--tasks", "digits", "--out", str(out), "--workers", "0", "--quiet")  # fmt: skip
    [path] = out.glob("*/digits/zero-shot.json")
    return summary, read_result(path)


@pytest.mark.parametrize(
    ("arch", "seed", "path"),  # seeds whose random model predicts several classes
    [("bench-test-vit-h80-g", 2, "fast"), ("bench-test-vit-h64-q", 1, "fast"),
     ("bench-test-vit-avgpool", 1, "library")],
)  # fmt: skip
def test_open_clip_family_through_bench_run(oc_archs, tmp_path, arch, seed, path) -> None:  # noqa: ANN001,F811
    torch.manual_seed(seed)
    ref, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
    ref.eval()
    weights = tmp_path / f"{arch}.pt"
    torch.save(ref.state_dict(), weights)
    _, result = _bench_run(tmp_path / "results", f"open_clip:{arch}", "--weights", str(weights))
    tokenizer = open_clip.get_tokenizer(arch)
    expected = _accuracy(ref.encode_image, lambda t: ref.encode_text(tokenizer(t)), preprocess)
    assert result.model_family == "open_clip"
    assert (result.metrics["top1"], result.metrics["top5"]) == pytest.approx(expected), path


def _hf_accuracy(folder: Path, ref: torch.nn.Module, **text_options) -> tuple[float, float]:
    """Zero-shot on digits with transformers' own processor (``text_options``: its padding)
    and model."""
    proc = tf.AutoProcessor.from_pretrained(folder)

    def texts(t: list[str]) -> torch.Tensor:
        ids = proc(text=t, truncation=True, return_tensors="pt", **text_options)["input_ids"]
        return ref.get_text_features(input_ids=ids).pooler_output

    def images(x: torch.Tensor) -> torch.Tensor:
        return ref.get_image_features(pixel_values=x).pooler_output

    def pixels(img) -> torch.Tensor:  # noqa: ANN001
        return proc(images=img, return_tensors="pt")["pixel_values"][0]

    return _accuracy(images, texts, pixels)


def test_hf_clip_family_through_bench_run(tmp_path) -> None:  # noqa: ANN001
    folder = tmp_path / "hf-clip"
    folder.mkdir()
    ref = save_hf_clip(folder, "gelu", 80, context=40)  # byte-level tokens: long prompts
    _, result = _bench_run(tmp_path / "results", f"hf:{folder}")
    assert result.model_family == "hf"
    expected = _hf_accuracy(folder, ref, padding=True, max_length=40)
    assert (result.metrics["top1"], result.metrics["top5"]) == pytest.approx(expected)


def test_hf_siglip_family_through_bench_run(tmp_path) -> None:  # noqa: ANN001
    pytest.importorskip("google.protobuf", reason="SiglipTokenizer needs protobuf (bench[hf])")
    folder = tmp_path / "hf-siglip"
    folder.mkdir()
    task = get_task("digits")
    prompts = tuple(t.replace("{}", c) for t in task.templates for c in task.classnames)
    ref = save_hf_siglip(folder, prompts, vocab=40, context=32, ids=64)
    _, result = _bench_run(tmp_path / "results", f"hf:{folder}")
    assert result.model_family == "hf"
    expected = _hf_accuracy(folder, ref, padding="max_length", max_length=32)
    assert (result.metrics["top1"], result.metrics["top5"]) == pytest.approx(expected)


@pytest.mark.slow
def test_openai_family_through_bench_run(tmp_path) -> None:  # noqa: ANN001
    """``openai:ViT-B/32 --weights`` (random weights in OpenAI's layout; a seed whose model
    predicts several classes) against OpenAI's code:
    its ``model.py``, its ``_transform`` and its tokenizer (loaded by path, see conftest)."""
    from conftest import load_reference_module
    from models_fixtures import random_state_dict
    from test_tokenizer import reference_tokenize
    from test_transforms import reference_transform

    from bench.models import get_config

    sd = random_state_dict(get_config("ViT-B-32"), seed=2)
    weights = tmp_path / "vit-b-32-random.pt"
    torch.save(sd, weights)
    _, result = _bench_run(tmp_path / "results", "openai:ViT-B/32", "--weights", str(weights))
    ref = load_reference_module("model").build_model(dict(sd)).float().eval()
    bpe = load_reference_module("simple_tokenizer").SimpleTokenizer()
    preprocess = reference_transform(ref.visual.input_resolution)
    expected = _accuracy(
        ref.encode_image, lambda t: ref.encode_text(reference_tokenize(bpe, t)), preprocess
    )
    assert result.model_family == "openai"
    assert (result.metrics["top1"], result.metrics["top5"]) == pytest.approx(expected)
