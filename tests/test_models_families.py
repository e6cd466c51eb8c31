"""Model families against their own libraries, offline with random weights: bench's features
equal open_clip's and transformers' to fp32 rounding, for GELU and QuickGELU and head widths 64
and 80, on the fast path (in-repo encoders) and on the library's own model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch

from bench.errors import BenchError, UnknownNameError
from bench.models import ClipModel, resolve
from bench.models.families.base import slug
from bench.models.library import LibraryModel

open_clip = pytest.importorskip("open_clip")
tf = pytest.importorskip("transformers")

RTOL = 1e-5


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).abs().max() / b.float().abs().max())


def oc_config(head_width: int, quick_gelu: bool, **extra_vision) -> dict:
    width = 2 * head_width
    return {
        "embed_dim": 32,
        "quick_gelu": quick_gelu,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": width, "head_width": head_width,
                       "patch_size": 16, **extra_vision},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": width,
                     "heads": 2, "layers": 2},
    }  # fmt: skip


@pytest.fixture(scope="module")
def oc_archs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("oc_configs")
    configs = {
        f"bench-test-vit-h{hw}-{'q' if q else 'g'}": oc_config(hw, q)
        for hw in (64, 80)
        for q in (True, False)
    }
    configs["bench-test-vit-avgpool"] = oc_config(64, False, pool_type="avg")
    configs["bench-test-rn"] = {
        "embed_dim": 32,
        "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 8, "head_width": 64,
                       "patch_size": None},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 128, "heads": 2,
                     "layers": 1},
    }  # fmt: skip
    for name, cfg in configs.items():
        (folder / f"{name}.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(folder)
    return configs


def _oc_pair(arch: str, tmp_path: Path) -> tuple[torch.nn.Module, object]:
    torch.manual_seed(0)
    ref = open_clip.create_model(arch, pretrained=None).eval()
    path = tmp_path / f"{arch}.pt"
    torch.save(ref.state_dict(), path)
    return ref, resolve(f"open_clip:{arch}", weights=path).load("cpu")


def _compare(ref_img, ref_probe, ref_txt, model, images, tokens) -> None:  # noqa: ANN001
    emb, probe = model.image_features(images)
    assert rel(emb, ref_img) < RTOL
    assert rel(probe, ref_probe) < RTOL
    assert rel(model.encode_text(tokens), ref_txt) < RTOL


@pytest.mark.parametrize("hw", [64, 80])
@pytest.mark.parametrize("act", ["q", "g"])
def test_open_clip_vit_fast_path_equals_open_clip(oc_archs, tmp_path, hw, act) -> None:  # noqa: ANN001
    arch = f"bench-test-vit-h{hw}-{act}"
    ref, model = _oc_pair(arch, tmp_path)
    assert isinstance(model, ClipModel)  # converted into the in-repo encoders
    assert model.module.config.vision_heads == 2
    assert model.module.config.activation == ("quick_gelu" if act == "q" else "gelu")
    images = torch.randn(3, 3, 32, 32)
    tokens = model.tokenize(["a photo of a cat", "a dog", ""])
    assert torch.equal(tokens, open_clip.get_tokenizer(arch)(["a photo of a cat", "a dog", ""]))
    with torch.no_grad():
        ref_img, ref_txt = ref.encode_image(images), ref.encode_text(tokens)
        ref.visual.proj = None  # open_clip's own pre-projection pooled features
        ref_probe = ref.visual(images)
        _compare(ref_img, ref_probe, ref_txt, model, images, tokens)


def test_open_clip_resnet_fast_path_equals_open_clip(oc_archs, tmp_path) -> None:  # noqa: ANN001
    ref, model = _oc_pair("bench-test-rn", tmp_path)
    assert isinstance(model, ClipModel)
    images = torch.randn(2, 3, 64, 64)
    tokens = model.tokenize(["a cat", "two dogs"])
    with torch.no_grad():
        ref_img = ref.encode_image(images)
        _compare(ref_img, ref_img, ref.encode_text(tokens), model, images, tokens)


def test_open_clip_other_architecture_runs_on_open_clip(oc_archs, tmp_path) -> None:  # noqa: ANN001
    ref, model = _oc_pair("bench-test-vit-avgpool", tmp_path)
    assert isinstance(model, LibraryModel)  # average pooling is not the OpenAI architecture
    images = torch.randn(2, 3, 32, 32)
    tokens = model.tokenize(["a cat", "two dogs"])
    with torch.no_grad():
        ref_img, ref_txt = ref.encode_image(images), ref.encode_text(tokens)
        ref.visual.proj = None
        _compare(ref_img, ref.visual(images), ref_txt, model, images, tokens)


def test_open_clip_names_and_errors(oc_archs, tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(UnknownNameError, match="ViT-B-32"):
        resolve("open_clip:ViT-B-23", weights=tmp_path / "x.pt")
    with pytest.raises(BenchError, match="--weights PATH"):
        resolve("open_clip:ViT-B-32")
    handle = resolve("open_clip:ViT-B-32/laion2b_s34b_b79k")  # resolving downloads nothing
    assert handle.slug == "open_clip=ViT-B-32~laion2b_s34b_b79k"
    assert handle.weights_sha256 is None


def test_slugs_are_readable_and_one_to_one() -> None:
    names = ["open_clip:ViT-B-32/laion2b", "open_clip:ViT-B-32~laion2b", "hf:org/name",
             "hf=org/name", "hf:org~name", "a b", "a%20b"]  # fmt: skip
    slugs = [slug(n) for n in names]
    assert len(set(slugs)) == len(names)
    assert slugs[0] == "open_clip=ViT-B-32~laion2b" and slugs[2] == "hf=org~name"
    assert all("/" not in s and ":" not in s for s in slugs)


# --------------------------------------------------------------------------- Hugging Face


def _bytes_vocab() -> list[str]:
    from open_clip.tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    return chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]


def save_hf_clip(folder: Path, act: str, head_dim: int, context: int = 16) -> torch.nn.Module:
    vocab = _bytes_vocab()
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = tf.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    images = tf.CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    tf.CLIPProcessor(image_processor=images, tokenizer=tok).save_pretrained(folder)
    n = len(vocab)
    width = 2 * head_dim
    tower = dict(hidden_size=width, intermediate_size=4 * width, num_attention_heads=2,
                 num_hidden_layers=2, hidden_act=act)  # fmt: skip
    config = tf.CLIPConfig(
        text_config=dict(tower, vocab_size=n, max_position_embeddings=context, eos_token_id=n - 1,
                         bos_token_id=n - 2, pad_token_id=n - 1),
        vision_config=dict(tower, image_size=32, patch_size=16),
        projection_dim=32,
    )  # fmt: skip
    torch.manual_seed(0)
    model = tf.CLIPModel(config).eval()
    model.save_pretrained(folder)
    return model


@pytest.mark.parametrize("head_dim", [64, 80])
@pytest.mark.parametrize("act", ["quick_gelu", "gelu"])
def test_hf_clip_fast_path_equals_transformers(tmp_path, act, head_dim) -> None:  # noqa: ANN001
    ref = save_hf_clip(tmp_path, act, head_dim)
    handle = resolve(f"hf:{tmp_path}")
    assert handle.weights_sha256 is not None  # from the folder's files, before loading
    model = handle.load("cpu")
    assert isinstance(model, ClipModel) and model.module.config.activation == act
    from PIL import Image

    pil = Image.new("RGB", (40, 50), (120, 30, 200))
    pixel = model.preprocess(pil)[None]
    proc = tf.AutoProcessor.from_pretrained(tmp_path)
    assert torch.equal(pixel, proc(images=pil, return_tensors="pt")["pixel_values"])
    images = torch.randn(2, 3, 32, 32)
    tokens = model.tokenize(["a cat", "a photo of two dogs"])
    assert tokens.shape == (2, 16)
    with torch.no_grad():
        ref_img = ref.get_image_features(pixel_values=images).pooler_output
        ref_probe = ref.vision_model(pixel_values=images).pooler_output
        ref_txt = ref.get_text_features(input_ids=tokens).pooler_output
        _compare(ref_img, ref_probe, ref_txt, model, images, tokens)


def _spm_model(folder: Path, text: tuple[str, ...] = (), vocab: int = 24) -> Path:
    import sentencepiece as spm

    text = list(text) or [
        "a photo of a cat",
        "a photo of a dog",
        "two birds on a tree",
        "the number seven",
    ]
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(text * 20), model_writer=out,
                                   vocab_size=vocab, model_type="unigram", hard_vocab_limit=False, eos_id=1, unk_id=2,
                                   pad_id=0, bos_id=-1)  # fmt: skip
    path = folder / "spiece.model"
    path.write_bytes(out.getvalue())
    return path


def save_hf_siglip(
    folder: Path, text: tuple[str, ...] = (), vocab: int = 24, context: int = 12, ids: int = 40
) -> torch.nn.Module:
    """A random SiglipModel with a sentencepiece tokenizer trained on ``text``, saved to
    ``folder`` with its processor (texts padded to ``context``)."""
    tok = tf.SiglipTokenizer(str(_spm_model(folder, text, vocab)), model_max_length=context)
    images = tf.SiglipImageProcessor(size={"height": 32, "width": 32})
    tf.SiglipProcessor(image_processor=images, tokenizer=tok).save_pretrained(folder)
    tower = dict(hidden_size=64, intermediate_size=128, num_attention_heads=2, num_hidden_layers=2)
    config = tf.SiglipConfig(
        text_config=dict(tower, vocab_size=ids, max_position_embeddings=context),
        vision_config=dict(tower, image_size=32, patch_size=16),
    )
    torch.manual_seed(0)
    ref = tf.SiglipModel(config).eval()
    ref.save_pretrained(folder)
    return ref


def test_hf_siglip_runs_on_transformers_with_its_processor(tmp_path) -> None:  # noqa: ANN001
    pytest.importorskip("google.protobuf", reason="SiglipTokenizer needs protobuf (bench[hf])")
    ref = save_hf_siglip(tmp_path)
    model = resolve(f"hf:{tmp_path}").load("cpu")
    assert isinstance(model, LibraryModel)
    texts = ["A photo of a Cat.", "two birds"]
    tokens = model.tokenize(texts)
    # SigLIP pads every text to the fixed length it was trained with.
    expected = tf.AutoProcessor.from_pretrained(tmp_path)(
        text=texts, padding="max_length", truncation=True, max_length=12, return_tensors="pt"
    )["input_ids"]
    assert tokens.shape == (2, 12) and torch.equal(tokens, expected)
    # SigLIP's text canonicalisation: lower case, punctuation dropped.
    assert torch.equal(model.tokenize(["a photo of a cat"]), tokens[:1])
    pixels = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref_img = ref.get_image_features(pixel_values=pixels).pooler_output
        ref_txt = ref.get_text_features(input_ids=tokens).pooler_output
        _compare(ref_img, ref_img, ref_txt, model, pixels, tokens)
