"""CLIP's byte-level BPE tokenizer, id for id identical to OpenAI's ``simple_tokenizer``.

The text is cleaned exactly as OpenAI cleans it (``ftfy.fix_text``, HTML-unescaped twice,
whitespace collapsed, lowercased), split with the same regular expression, mapped byte by
byte to unicode, and merged by BPE rank. Two shortcuts make it fast without changing a single
id: a word's ids are cached after its first BPE, and text made only of printable ASCII without
``&`` skips ``ftfy`` and the ``regex`` module, whose results on such text are known exactly
(``ftfy`` leaves it unchanged, its only whitespace is the space, its letters are ``a-z``).

The vocabulary ``bpe_simple_vocab_16e6.txt.gz`` is OpenAI's, copied unchanged (MIT licence in
``LICENSE.openai-clip``); its sha256 is checked when it is read.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import itertools
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import ftfy
import numpy as np
import regex
import torch

from bench.errors import BenchError, ChecksumError

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
VOCAB_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
SOT = "<|startoftext|>"
EOT = "<|endoftext|>"
CONTEXT_LENGTH = 77

# OpenAI's split: special tokens, contractions, runs of letters, single digits, runs of other
# non-space symbols.
_PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|"""
    r"""[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)
# The same split restricted to lowercased printable ASCII, where \p{L} is [a-z], \p{N} is
# [0-9] and the only whitespace is the space.
_ASCII_PATTERN = re.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^ a-z0-9]+"""
)
_WHITESPACE = regex.compile(r"\s+")
_MAX_CACHE = 500_000  # words; a bound so that tokenising a huge corpus cannot exhaust memory


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """OpenAI's reversible map from the 256 byte values to printable unicode characters."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def clean_text(text: str) -> str:
    """OpenAI's cleaning: ftfy, HTML-unescape twice, collapse whitespace, strip, lowercase."""
    if text.isascii() and text.isprintable() and "&" not in text:
        # ftfy and html.unescape leave such text unchanged; its only whitespace is " ".
        return " ".join(text.split()).lower()
    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return _WHITESPACE.sub(" ", text).strip().lower()


def _read_vocab(path: Path | None) -> list[tuple[str, str]]:
    """The BPE merges, in rank order, from the packaged vocabulary (sha256-checked) or ``path``."""
    if path is None:
        ref = resources.files("bench.models") / VOCAB_FILE
        data = ref.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != VOCAB_SHA256:
            raise ChecksumError(
                f"the tokenizer vocabulary {ref} has sha256 {actual}, expected {VOCAB_SHA256}; "
                "the installation is damaged: reinstall bench (pip install --force-reinstall)"
            )
    else:
        data = Path(path).read_bytes()
    lines = gzip.decompress(data).decode("utf-8").split("\n")
    # OpenAI keeps 49152 - 256 - 2 merges after the header line.
    return [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]


class SimpleTokenizer:
    """CLIP's tokenizer (``encode``/``decode``), a drop-in for OpenAI's ``SimpleTokenizer``.

    Args:
        bpe_path: A gzipped merges file in OpenAI's format; default the packaged vocabulary,
            whose sha256 is verified.

    Raises:
        ChecksumError: if the packaged vocabulary is damaged.
    """

    def __init__(self, bpe_path: str | Path | None = None) -> None:
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        merges = _read_vocab(Path(bpe_path) if bpe_path is not None else None)
        vocab = list(self.byte_encoder.values())
        vocab += [v + "</w>" for v in vocab]
        vocab += ["".join(merge) for merge in merges]
        vocab += [SOT, EOT]
        self.encoder: dict[str, int] = dict(zip(vocab, range(len(vocab)), strict=True))
        self.decoder: dict[int, str] = {v: k for k, v in self.encoder.items()}
        self.bpe_ranks: dict[tuple[str, str], int] = dict(
            zip(merges, range(len(merges)), strict=True)
        )
        self.sot_token = self.encoder[SOT]
        self.eot_token = self.encoder[EOT]
        self._specials = {SOT: (self.sot_token,), EOT: (self.eot_token,)}
        self._cache: dict[str, tuple[int, ...]] = dict(self._specials)

    def bpe(self, token: str) -> str:
        """The BPE pieces of one byte-encoded word, space-separated (as OpenAI's ``bpe``)."""
        if token in self._specials:
            return token
        return " ".join(self._merge_all(token))

    def _merge_all(self, token: str) -> list[str]:
        word = [*token[:-1], token[-1] + "</w>"]
        ranks = self.bpe_ranks
        inf = float("inf")
        while len(word) > 1:
            first, second = min(zip(word, word[1:], strict=False), key=lambda p: ranks.get(p, inf))
            if (first, second) not in ranks:
                break
            merged: list[str] = []
            i, n = 0, len(word)
            while i < n:  # merge every occurrence, left to right, as OpenAI does
                if i < n - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        return word

    def _word_ids(self, word: str) -> tuple[int, ...]:
        ids = self._cache.get(word)
        if ids is None:
            encoded = "".join(self.byte_encoder[b] for b in word.encode("utf-8"))
            ids = tuple(self.encoder[piece] for piece in self._merge_all(encoded))
            if len(self._cache) >= _MAX_CACHE:
                self._cache = dict(self._specials)
            self._cache[word] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without start/end tokens (OpenAI's ``encode``)."""
        text = clean_text(text)
        pattern = _ASCII_PATTERN if text.isascii() and text.isprintable() else _PATTERN
        words = pattern.findall(text)
        cache = self._cache
        try:  # the common case: every word seen before
            return list(itertools.chain.from_iterable([cache[w] for w in words]))
        except KeyError:
            return list(itertools.chain.from_iterable([self._word_ids(w) for w in words]))

    def decode(self, tokens: Sequence[int]) -> str:
        """Text of token ids; word ends become spaces (OpenAI's ``decode``)."""
        text = "".join(self.decoder[int(t)] for t in tokens)
        data = bytearray(self.byte_decoder[c] for c in text)
        return data.decode("utf-8", errors="replace").replace("</w>", " ")


@functools.lru_cache(maxsize=1)
def default_tokenizer() -> SimpleTokenizer:
    """The shared tokenizer on the packaged vocabulary (built once, about 0.2 s)."""
    return SimpleTokenizer()


def _too_long(text: str, n: int, context_length: int) -> BenchError:
    start = text if len(text) <= 40 else text[:40] + "..."
    return BenchError(
        f"text {start!r} is {n} tokens long (with start and end tokens), more than the context "
        f"length {context_length}; shorten it, or pass truncate=True to cut it to "
        f"{context_length} tokens ending with <|endoftext|>"
    )


def tokenize(
    texts: str | Sequence[str], context_length: int = CONTEXT_LENGTH, truncate: bool = False
) -> torch.Tensor:
    """Token ids of each text between start and end tokens, zero-padded (OpenAI's ``tokenize``).

    Args:
        texts: One string or a sequence of strings.
        context_length: Length of each row; every CLIP model uses 77.
        truncate: Cut texts that are too long, keeping end-of-text as the last token.

    Returns:
        A ``torch.long`` tensor of shape ``[len(texts), context_length]``.

    Raises:
        BenchError: if a text is longer than ``context_length`` tokens and ``truncate`` is
            false, or ``context_length`` is below 2.
        TypeError: if a text is not a string.
    """
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(context_length, int) or context_length < 2:
        raise BenchError(
            f"context_length must be an integer of at least 2 (start and end tokens), got "
            f"{context_length!r}; CLIP models use 77"
        )
    tok = default_tokenizer()
    flat: list[int] = []  # all rows' ids back to back; packing them once is fastest
    lens: list[int] = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"tokenize expects strings, got {type(text).__name__}: {text!r}")
        ids = tok.encode(text)
        n = len(ids) + 2
        if n > context_length:
            if not truncate:
                raise _too_long(text, n, context_length)
            ids, n = ids[: context_length - 2], context_length
        flat.append(tok.sot_token)
        flat.extend(ids)
        flat.append(tok.eot_token)
        lens.append(n)
    return _pad(flat, lens, context_length)


def _pad(flat: list[int], lens: list[int], context_length: int) -> torch.Tensor:
    """Packs rows of ids (``flat``, row lengths ``lens``) into a zero-padded long tensor."""
    lengths = np.asarray(lens, dtype=np.int64)
    values = np.asarray(flat, dtype=np.int64)
    out = np.zeros((len(lens), context_length), dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    cols = np.arange(len(values), dtype=np.int64) - np.repeat(starts, lengths)
    out[np.repeat(np.arange(len(lens)), lengths), cols] = values
    return torch.from_numpy(out)
