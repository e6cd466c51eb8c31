"""The tokenizer against OpenAI's reference ``simple_tokenizer``, id for id."""

from __future__ import annotations

import hashlib
import json
import random
import time
from importlib import resources
from pathlib import Path

import pytest
import torch
from conftest import load_reference_module

from bench.errors import BenchError, ChecksumError
from bench.models import tokenize
from bench.models import tokenizer as tk

PROMPTS = (
    Path(__file__).resolve().parent / "data" / "imagenet_prompts.json"
)  # copy of shared/reference/clip/

EDGE_CASES = [
    "a photo of a cat.",
    "",
    " ",
    "\t\n  \r\n ",
    "Hello, World!",
    "ALL CAPS TEXT and MiXeD cAsE",
    "naïve café résumé, crème brûlée à la mode",
    "Ünïcödé ÅÄÖ ß straße İstanbul",
    "e\u0301 combining accent",
    "😀 emoji 🐈‍⬛ cat 👍🏽 thumbs 🇫🇷",
    "日本語のテキスト",
    "中文字符测试，标点。",
    "한국어 텍스트",
    "Привет мир",
    "Αλφα βήτα γάμμα",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "&amp;amp; &lt;b&gt; &quot;quoted&quot; &#39;x&#39; &nbsp;",
    "fish &amp; chips & peas &",
    "<b>bold</b> <i>italic</i>",
    "The Mona Lisa doesnâ€™t have eyebrows.",
    "cafÃ© Ã  la carte",
    "â€œquotedâ€\x9d",
    "12345 3.14159 1,000,000 2nd 21st 0x1F",
    "x²³ ½ ⅓ ① ٣ ४",
    "it's don't we're they've I'm you'll he'd",
    "IT'S DON'T WE'RE",
    "don''t 's 'S rock'n'roll",
    "a-b_c/d\\e|f~g`h^i",
    "...!!!???;;;::",
    "<|startoftext|> hi <|endoftext|>",
    "ﬁne ﬂow ligatures",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ",
    "a\x00b\x07c\x1bd",
    "\u200bzero\u200bwidth",
    "tab\tseparated\tvalues",
    "line\r\nbreaks\u2028and\u2029more",
    "\u00a0non\u00a0breaking\u00a0",
    "“curly quotes” ‘single’ — em dash – en dash",
    "a" * 300,
]


@pytest.fixture(scope="module")
def ref():
    return load_reference_module("simple_tokenizer").SimpleTokenizer()


def reference_tokenize(ref, texts, context_length=77, truncate=False):
    """OpenAI's ``clip.tokenize`` (clip/clip.py), rebuilt on its ``encode``."""
    sot, eot = ref.encoder["<|startoftext|>"], ref.encoder["<|endoftext|>"]
    result = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, text in enumerate(texts):
        tokens = [sot, *ref.encode(text), eot]
        if len(tokens) > context_length:
            if not truncate:
                raise RuntimeError(f"Input {text} is too long for context length {context_length}")
            tokens = tokens[:context_length]
            tokens[-1] = eot
        result[i, : len(tokens)] = torch.tensor(tokens)
    return result


def random_texts(n: int, seed: int = 0) -> list[str]:
    """Strings mixing every kind of character the cleaning and the split treat differently."""
    pool = (
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        "      \t\n&;#<>'\".,!?-_/()[]{}" + "éüßÅçñ²½ﬁ日本中한😀👍\u00a0\u200bÃ©â€™"
    )
    rng = random.Random(seed)
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def test_golden_vector():
    ids = tokenize("a photo of a cat.")
    assert ids.dtype == torch.long and ids.shape == (1, 77)
    assert ids[0, :8].tolist() == [49406, 320, 1125, 539, 320, 2368, 269, 49407]
    assert not ids[0, 8:].any()


@pytest.mark.parametrize("text", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_encode_equals_reference(ref, text):
    assert tk.default_tokenizer().encode(text) == ref.encode(text)


def test_tokenize_equals_reference_on_edge_cases(ref):
    texts = [t for t in EDGE_CASES if len(ref.encode(t)) <= 75]
    assert torch.equal(tokenize(texts), reference_tokenize(ref, texts))


def test_tokenize_equals_reference_on_random_text(ref):
    texts = random_texts(400)
    assert torch.equal(
        tokenize(texts, truncate=True), reference_tokenize(ref, texts, truncate=True)
    )


def test_ascii_shortcut_matches_full_cleaning(ref):
    """Printable ASCII without '&' skips ftfy: it must clean exactly as OpenAI's code does."""
    basic = load_reference_module("simple_tokenizer")
    rng = random.Random(1)
    printable = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "&")
    texts = ["".join(rng.choice(printable) for _ in range(rng.randint(0, 60))) for _ in range(2000)]
    texts += ["  leading and trailing  ", "a  b   c", "<p>tag;</p> #x27; lt;"]
    for text in texts:
        assert tk.clean_text(text) == basic.whitespace_clean(basic.basic_clean(text)).lower()
    assert tk.default_tokenizer().encode(texts[0]) == ref.encode(texts[0])


def test_imagenet_prompts_sample_equal_reference(ref):
    """Every ImageNet class name and every template (the full product is a slow test)."""
    if not PROMPTS.exists():
        pytest.skip(f"{PROMPTS} is not available")
    data = json.loads(PROMPTS.read_text(encoding="utf-8"))
    templates, classes = data["templates"], data["classes"]
    texts = [
        templates[(i * 7 + k) % len(templates)].format(c)
        for i, c in enumerate(classes)
        for k in (0, 40)
    ]
    assert torch.equal(tokenize(texts), reference_tokenize(ref, texts))


@pytest.mark.slow
def test_all_imagenet_prompts_equal_reference_and_are_fast(ref):
    if not PROMPTS.exists():
        pytest.skip(f"{PROMPTS} is not available")
    data = json.loads(PROMPTS.read_text(encoding="utf-8"))
    texts = [t.format(c) for c in data["classes"] for t in data["templates"]]
    tk.default_tokenizer()  # building the tokenizer is not part of the figure
    start = time.process_time()
    ours = tokenize(texts)
    seconds = time.process_time() - start
    assert ours.shape == (80_000, 77)
    assert seconds < 1.0, f"tokenising 80,000 prompts took {seconds:.2f} s of CPU"
    assert torch.equal(ours, reference_tokenize(ref, texts))


def test_too_long_raises_with_a_helpful_message(ref):
    text = "the quick brown fox " * 30
    with pytest.raises(RuntimeError):
        reference_tokenize(ref, [text])
    with pytest.raises(BenchError) as info:
        tokenize(["short", text])
    message = str(info.value)
    n = len(ref.encode(text)) + 2
    assert "'the quick brown fox" in message and f"{n} tokens" in message
    assert "77" in message and "truncate=True" in message


@pytest.mark.parametrize("context_length", [77, 10, 2])
def test_truncate_equals_reference(ref, context_length):
    texts = ["the quick brown fox " * 30, "a photo of a cat.", "日本語 " * 50, ""]
    ours = tokenize(texts, context_length=context_length, truncate=True)
    assert torch.equal(ours, reference_tokenize(ref, texts, context_length, truncate=True))
    assert ours.shape == (len(texts), context_length)
    assert (ours.max(dim=1).values == 49407).all()  # every row still ends with end-of-text


def test_exactly_full_context_is_not_truncated(ref):
    words = ["cat"] * 75  # 75 ids + start + end = 77
    ids = tokenize(" ".join(words))
    assert ids[0, -1].item() == 49407 and ids[0, 1:-1].tolist() == [2368] * 75
    with pytest.raises(BenchError):
        tokenize(" ".join(words + ["cat"]))


def test_empty_batch_and_bad_inputs():
    assert tokenize([]).shape == (0, 77)
    with pytest.raises(TypeError, match="int"):
        tokenize(["ok", 3])
    with pytest.raises(BenchError, match="context_length"):
        tokenize("x", context_length=1)


def test_decode_equals_reference(ref):
    tok = tk.default_tokenizer()
    for text in ["a photo of a cat.", "naïve café 😀", "日本語"]:
        ids = tok.encode(text)
        assert tok.decode(ids) == ref.decode(ids)
    assert tok.bpe("hello") == ref.bpe("hello")


def test_vocabulary_is_the_packaged_verified_file():
    data = (resources.files("bench.models") / tk.VOCAB_FILE).read_bytes()
    assert hashlib.sha256(data).hexdigest() == tk.VOCAB_SHA256
    licence = (resources.files("bench.models") / "LICENSE.openai-clip").read_text(encoding="utf-8")
    assert "MIT License" in licence and "OpenAI" in licence


def test_damaged_vocabulary_is_refused(monkeypatch):
    monkeypatch.setattr(tk, "VOCAB_SHA256", "0" * 64)
    with pytest.raises(ChecksumError, match="reinstall"):
        tk.SimpleTokenizer()


def test_custom_vocabulary_path_is_read(ref, tmp_path):
    path = tmp_path / "vocab.txt.gz"
    path.write_bytes((resources.files("bench.models") / tk.VOCAB_FILE).read_bytes())
    tok = tk.SimpleTokenizer(path)
    assert tok.encode("a photo of a cat.") == ref.encode("a photo of a cat.")
    assert tok.encoder == ref.encoder and tok.bpe_ranks == ref.bpe_ranks
