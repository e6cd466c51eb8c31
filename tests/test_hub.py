"""The model registry, verified and resumable weight downloads (from a local HTTP server), and
``bench.models.load``."""

from __future__ import annotations

import dataclasses
import hashlib
import random
import re
import socket
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from conftest import load_reference_module
from PIL import Image

from bench.download import MAX_ATTEMPTS
from bench.errors import BenchError, ChecksumError, DataMissingError, UnknownNameError
from bench.io import cache_dir, sha256_file
from bench.models import CLIP, get_config, hub, load
from bench.registry import Registry

# ---------------------------------------------------------------------------------------------
# a local HTTP server with Range support and fault injection


@dataclasses.dataclass
class ServerState:
    payload: bytes = b""
    status: int = 200  # anything else: answer with that error
    ignore_range: bool = False  # answer 200 with the whole file to a Range request
    cut_first: int | None = None  # first response: send only this many body bytes, then close
    cut_every: int | None = None  # every response: the same
    ranges: list = dataclasses.field(default_factory=list)  # Range header of each request
    sent: int = 0  # body bytes sent in all
    url: str = ""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        st: ServerState = self.server.state
        rng = self.headers.get("Range")
        st.ranges.append(rng)
        if st.status != 200:
            self.send_error(st.status)
            return
        data, start = st.payload, 0
        if rng and not st.ignore_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = st.cut_every if st.cut_every is not None else st.cut_first
        st.cut_first = None
        sent = body if cut is None else body[:cut]
        self.wfile.write(sent)
        st.sent += len(sent)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.state = ServerState(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd.state
    httpd.shutdown()
    httpd.server_close()


def payload_bytes(n: int = 300_000, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def patch_registry(monkeypatch, name: str, **changes) -> hub.ModelInfo:
    """Replaces the entry ``name`` of the model registry (URL, sha256, config...) for a test."""
    registry = Registry("model", "bench models")
    new = None
    for key, info in hub.MODELS.items():
        if key == name:
            info = new = dataclasses.replace(info, **changes)
        registry.register(key, info, info.aliases)
    monkeypatch.setattr(hub, "MODELS", registry)
    return new


def serve(server: ServerState, monkeypatch, payload: bytes, name: str = "RN50", **changes):
    server.payload = payload
    sha = hashlib.sha256(payload).hexdigest()
    url = f"{server.url}/{sha}/{name.replace('/', '-')}.pt"
    return patch_registry(monkeypatch, name, url=url, sha256=sha, **changes)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# the registry

NINE = ["RN50", "RN101", "RN50x4", "RN50x16", "RN50x64"]
NINE += ["ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px"]


def openai_urls() -> dict[str, str]:
    """``_MODELS`` of OpenAI's clip/clip.py, read from its source (the module cannot import)."""
    source = Path(load_reference_module("model").__file__).with_name("clip.py").read_text()
    return dict(re.findall(r'"([^"]+)": "(https://openaipublic[^"]+)"', source))


def test_nine_models_with_openai_urls_and_checksums():
    assert hub.available_models() == NINE
    urls = openai_urls()
    assert sorted(urls) == sorted(NINE)
    for name in NINE:
        info = hub.get_model_info(name)
        assert info.name == name and info.url == urls[name]
        assert info.sha256 == info.url.split("/")[-2] and re.fullmatch(r"[0-9a-f]{64}", info.sha256)
        assert info.filename == info.url.rsplit("/", 1)[-1]


@pytest.mark.parametrize("name", NINE)
def test_resolution_matches_the_architecture(name):
    info = hub.get_model_info(name)
    assert get_config(info.config).image_resolution == info.resolution


def test_parameter_counts_match_the_architectures():
    for name in NINE:
        info = hub.get_model_info(name)
        with torch.device("meta"):  # no memory
            model = CLIP(get_config(info.config))
        assert sum(p.numel() for p in model.parameters()) == info.parameters, name


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("ViT-B-32", "ViT-B/32"),
        ("ViT-B-16", "ViT-B/16"),
        ("ViT-L-14", "ViT-L/14"),
        ("ViT-L-14-336", "ViT-L/14@336px"),
        ("ViT-L/14-336px", "ViT-L/14@336px"),
        ("ViT-L-14-336px", "ViT-L/14@336px"),
        ("vit-b/32", "ViT-B/32"),
        ("rn50x4", "RN50x4"),
        ("RN101", "RN101"),
    ],
)
def test_aliases_and_case(alias, name):
    assert hub.get_model_info(alias).name == name


def test_unknown_name_lists_close_matches():
    with pytest.raises(UnknownNameError) as info:
        hub.get_model_info("ViT-B/23")
    message = str(info.value)
    assert "'ViT-B/23'" in message and "ViT-B/32" in message and "bench models" in message


# ---------------------------------------------------------------------------------------------
# downloads


def test_download_verifies_renames_and_caches(server, monkeypatch):
    payload = payload_bytes()
    info = serve(server, monkeypatch, payload)
    path = hub.download("RN50", progress=False)
    assert path == cache_dir() / "models" / info.filename
    assert path.read_bytes() == payload
    assert not path.with_name(path.name + ".part").exists()
    assert hub.cache_status("RN50") == "verified"
    requests = len(server.ranges)
    assert hub.download("rn50", progress=False) == path  # cached: no request
    assert len(server.ranges) == requests


def test_verified_cache_is_not_hashed_again(server, monkeypatch):
    info = serve(server, monkeypatch, payload_bytes())
    path = hub.download("RN50", progress=False)
    monkeypatch.setattr(hub, "sha256_file", lambda p: pytest.fail("hashed a verified file"))
    assert hub.download("RN50", progress=False) == path
    assert info.sha256 == sha256_file(path)


def test_interrupted_download_resumes_with_range(server, monkeypatch):
    payload = payload_bytes()
    info = serve(server, monkeypatch, payload)
    part = cache_dir() / "models" / (info.filename + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(payload[:120_000])
    assert hub.cache_status("RN50") == "partial"
    path = hub.download("RN50", progress=False)
    assert path.read_bytes() == payload
    assert server.ranges == ["bytes=120000-"]
    assert server.sent == len(payload) - 120_000  # only the rest was transferred


def test_truncated_transfer_is_resumed(server, monkeypatch):
    payload = payload_bytes()
    serve(server, monkeypatch, payload)
    server.cut_first = 100_000  # the connection drops after 100 kB of 300 kB
    path = hub.download("RN50", progress=False)
    assert path.read_bytes() == payload
    assert server.ranges == [None, "bytes=100000-"]


def test_server_ignoring_range_restarts(server, monkeypatch):
    payload = payload_bytes()
    info = serve(server, monkeypatch, payload)
    server.ignore_range = True
    part = cache_dir() / "models" / (info.filename + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes of an older attempt")
    path = hub.download("RN50", progress=False)
    assert path.read_bytes() == payload
    assert server.ranges == [f"bytes={len(b'stale bytes of an older attempt')}-"]


def test_checksum_mismatch_refuses_the_file(server, monkeypatch):
    info = serve(server, monkeypatch, payload_bytes())
    server.payload = payload_bytes(seed=1)  # the server now sends other bytes
    with pytest.raises(ChecksumError) as err:
        hub.download("RN50", progress=False)
    message = str(err.value)
    assert info.url in message and info.sha256 in message and "--weights PATH" in message
    target = cache_dir() / "models" / info.filename
    assert not target.exists() and not target.with_name(target.name + ".part").exists()
    assert hub.cache_status("RN50") == "missing"


def test_corrupt_partial_file_is_never_used(server, monkeypatch):
    payload = payload_bytes()
    info = serve(server, monkeypatch, payload)
    part = cache_dir() / "models" / (info.filename + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)  # wrong bytes; the resumed file cannot verify
    with pytest.raises(ChecksumError):
        hub.download("RN50", progress=False)
    assert not part.exists() and not (cache_dir() / "models" / info.filename).exists()
    assert hub.download("RN50", progress=False).read_bytes() == payload  # clean restart


def test_partial_longer_than_the_file_restarts(server, monkeypatch):
    payload = payload_bytes(1000)
    info = serve(server, monkeypatch, payload)
    part = cache_dir() / "models" / (info.filename + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"y" * 5000)
    assert hub.download("RN50", progress=False).read_bytes() == payload
    assert server.ranges == ["bytes=5000-", None]


def test_complete_partial_file_is_verified_without_transfer(server, monkeypatch):
    payload = payload_bytes()
    info = serve(server, monkeypatch, payload)
    part = cache_dir() / "models" / (info.filename + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(payload)  # a run that stopped after the transfer, before the rename
    assert hub.download("RN50", progress=False).read_bytes() == payload
    assert server.ranges == [f"bytes={len(payload)}-"] and server.sent == 0


def test_connection_that_keeps_dropping_fails_then_resumes_later(server, monkeypatch):
    payload = payload_bytes(10_000)
    info = serve(server, monkeypatch, payload)
    server.cut_every = 1_000
    with pytest.raises(DataMissingError) as err:
        hub.download("RN50", progress=False)
    target = cache_dir() / "models" / info.filename
    message = str(err.value)
    assert info.url in message and str(target) in message and "--weights PATH" in message
    assert not target.exists()
    part = target.with_name(target.name + ".part")
    assert part.read_bytes() == payload[: part.stat().st_size]  # kept, for resuming
    server.cut_every = None
    assert hub.download("RN50", progress=False).read_bytes() == payload
    assert server.ranges[-1] == f"bytes={MAX_ATTEMPTS * 1000}-"


def test_offline_error_names_url_path_and_weights_flag(monkeypatch):
    info = patch_registry(
        monkeypatch, "ViT-B/32", url=f"http://127.0.0.1:{closed_port()}/x/ViT-B-32.pt"
    )
    with pytest.raises(DataMissingError) as err:
        hub.download("ViT-B-32", progress=False)
    message = str(err.value)
    target = cache_dir() / "models" / "ViT-B-32.pt"
    assert info.url in message and str(target) in message and "--weights PATH" in message
    assert not target.exists()


def test_http_error_is_reported(server, monkeypatch):
    serve(server, monkeypatch, payload_bytes(100))
    server.status = 404
    with pytest.raises(DataMissingError, match="HTTP 404"):
        hub.download("RN50", progress=False)


def test_corrupt_cached_file_is_replaced(server, monkeypatch):
    payload = payload_bytes()
    info = serve(server, monkeypatch, payload)
    target = cache_dir() / "models" / info.filename
    target.parent.mkdir(parents=True)
    wrong = payload[:-10] + b"0123456789"  # same size, wrong bytes
    target.write_bytes(wrong)
    assert hub.cache_status("RN50") == "unverified"
    with pytest.warns(UserWarning, match=rf"sha256 {sha256_file(target)}, expected {info.sha256}"):
        path = hub.download("RN50", progress=False)
    assert path.read_bytes() == payload
    assert target.with_name(target.name + ".rejected").read_bytes() == wrong  # kept, not deleted


def test_file_truncated_after_verification_is_hashed_again(server, monkeypatch):
    payload = payload_bytes()
    serve(server, monkeypatch, payload)
    path = hub.download("RN50", progress=False)
    with open(path, "r+b") as f:
        f.truncate(1000)
    assert hub.cache_status("RN50") == "unverified"  # the marker no longer matches
    with pytest.warns(UserWarning, match="kept as .*rejected"):
        assert hub.download("RN50", progress=False).read_bytes() == payload
    assert len(server.ranges) == 2


# ---------------------------------------------------------------------------------------------
# load


def tiny_checkpoint(path: Path, config: str = "tiny-vit", seed: int = 0) -> dict:
    torch.manual_seed(seed)
    state = CLIP(get_config(config)).state_dict()
    torch.save(state, path)
    return state


def test_load_path_returns_eval_fp32_model_and_preprocess(tmp_path):
    state = tiny_checkpoint(tmp_path / "tiny.pt")
    model, preprocess = load(tmp_path / "tiny.pt", device="cpu")
    assert not model.training and model.dtype == torch.float32
    assert model.weights_sha256 == sha256_file(tmp_path / "tiny.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert preprocess(Image.new("RGB", (50, 40))).shape == (3, 32, 32)


def test_load_name_downloads_then_builds(server, monkeypatch, tmp_path):
    tiny_checkpoint(tmp_path / "tiny.pt", "tiny-rn")
    payload = (tmp_path / "tiny.pt").read_bytes()
    info = serve(server, monkeypatch, payload, name="RN50", config="tiny-rn", resolution=64)
    model, preprocess = load("RN50", device="cpu")
    assert model.weights_sha256 == info.sha256 and model.image_resolution == 64
    assert (cache_dir() / "models" / info.filename).read_bytes() == payload
    images = preprocess(Image.new("RGB", (80, 64), "red")).unsqueeze(0)
    assert model.encode_image(images).shape == (1, 64)


@pytest.mark.parametrize(
    ("precision", "dtype"), [("bf16", torch.bfloat16), ("fp16", torch.float16)]
)
def test_load_precision(tmp_path, precision, dtype):
    tiny_checkpoint(tmp_path / "tiny.pt")
    model, _ = load(str(tmp_path / "tiny.pt"), device="cpu", precision=precision)
    assert model.dtype == dtype
    assert model.ln_final.weight.dtype == torch.float32  # norms stay fp32, as OpenAI ships them
    text = model.encode_text(torch.zeros(2, 77, dtype=torch.long))
    assert text.dtype == dtype and torch.isfinite(text.float()).all()


def test_weights_flag_uses_a_local_file(server, monkeypatch, tmp_path):
    serve(server, monkeypatch, payload_bytes(100))
    tiny_checkpoint(tmp_path / "mine.pt")
    with pytest.warns(UserWarning, match="not the official RN50"):
        model, _ = load("RN50", device="cpu", weights=tmp_path / "mine.pt")
    assert model.weights_sha256 == sha256_file(tmp_path / "mine.pt")
    assert server.ranges == []  # nothing downloaded
    with pytest.raises(DataMissingError, match="--weights file"):
        load("RN50", device="cpu", weights=tmp_path / "missing.pt")


def test_load_bad_inputs(tmp_path):
    with pytest.raises(UnknownNameError) as err:
        load("ViT-B/23", device="cpu")
    assert "ViT-B/32" in str(err.value) and "bench models" in str(err.value)
    with pytest.raises(DataMissingError, match="no checkpoint file"):
        load(str(tmp_path / "nope.pt"), device="cpu")
    tiny_checkpoint(tmp_path / "tiny.pt")
    with pytest.raises(BenchError, match="fp32, fp16, bf16"):
        load(tmp_path / "tiny.pt", device="cpu", precision="fp8")
    with pytest.raises(BenchError, match="unknown device 'gpu'"):
        load(tmp_path / "tiny.pt", device="gpu")
    data = (tmp_path / "tiny.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(BenchError):
        load(tmp_path / "cut.pt", device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error when CUDA is absent")
def test_cuda_without_cuda_is_a_clear_error(tmp_path):
    tiny_checkpoint(tmp_path / "tiny.pt")
    with pytest.raises(BenchError, match="CUDA is not available"):
        load(tmp_path / "tiny.pt", device="cuda")


@pytest.mark.gpu
def test_cuda_defaults_to_fp16_like_openai(tmp_path):
    tiny_checkpoint(tmp_path / "tiny.pt")
    model, _ = load(tmp_path / "tiny.pt")
    assert model.dtype == torch.float16 and next(model.parameters()).is_cuda
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = model.encode_text(torch.zeros(1, 77, dtype=torch.long, device="cuda"))
    assert out.dtype == torch.float16
