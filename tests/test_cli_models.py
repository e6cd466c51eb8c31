"""``bench models``: through ``bench.cli.main`` and through the installed console script."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_hub import payload_bytes, serve, server  # noqa: F401 - server is a fixture

from bench.cli import main
from bench.io import cache_dir
from bench.models import hub

SPEC = (
    Path(__file__).resolve().parent / "data" / "state_dict_spec.json"
)  # copy of shared/reference/clip/
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def run_json(capsys, *args: str) -> list[dict]:
    assert main(["models", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_table_lists_the_nine(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in hub.available_models():
        assert f"\n{name} " in out
    assert "102.0M" in out  # RN50's parameters
    assert str(cache_dir() / "models") in out


def test_json_matches_the_reference_spec(capsys):
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not available")
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    rows = run_json(capsys)
    assert [r["name"] for r in rows] == hub.available_models()
    for row in rows:
        ref = spec[row["name"]]
        params = sum(
            math.prod(shape)
            for key, shape in ref["state_dict"].items()
            if not key.endswith(BUFFERS)
        )
        assert row["parameters"] == params, row["name"]
        assert row["resolution"] == ref["config"]["image_resolution"]
        assert row["embed_dim"] == ref["config"]["embed_dim"]
        assert row["cached"] is False and row["status"] == "missing"
        assert row["path"] == str(cache_dir() / "models" / Path(row["url"]).name)
        assert row["sha256"] in row["url"]


def test_cache_states_are_shown(capsys):
    folder = cache_dir() / "models"
    folder.mkdir(parents=True)
    (folder / "RN50.pt").write_bytes(b"placed by hand")
    (folder / "RN101.pt.part").write_bytes(b"half")
    rows = {r["name"]: r for r in run_json(capsys, "RN50", "RN101", "ViT-B-32")}
    assert list(rows) == ["RN50", "RN101", "ViT-B/32"]
    assert rows["RN50"]["cached"] is True and rows["RN50"]["status"] == "unverified"
    assert rows["RN101"]["cached"] is False and rows["RN101"]["status"] == "partial"
    assert rows["ViT-B/32"]["status"] == "missing"
    assert main(["models", "RN50"]) == 0
    out = capsys.readouterr().out
    assert "not yet verified" in out and str(folder / "RN50.pt") in out


def test_download_flag_fetches_and_verifies(server, monkeypatch, capsys):  # noqa: F811
    payload = payload_bytes(50_000)
    serve(server, monkeypatch, payload, name="ViT-B/32")
    rows = run_json(capsys, "--download", "ViT-B-32")
    assert rows[0]["status"] == "verified"
    assert Path(rows[0]["path"]).read_bytes() == payload


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["ViT-B/23"], "did you mean 'ViT-B/32'"),
        (["--download"], "--download needs the models"),
        (["--json", "RN50", "resnet-50"], "unknown model 'resnet-50'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, expected):
    assert main(["models", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench models: error:") and expected in lines[0]


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["models", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "bench models --json" in out


def _console_script() -> list[str]:
    beside = Path(sys.executable).with_name("bench")
    found = str(beside) if beside.exists() else shutil.which("bench")
    return [found] if found else [sys.executable, "-m", "bench"]


def test_installed_console_script():
    command = _console_script()
    done = subprocess.run(
        [*command, "models", "--json"], capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["name"] for r in rows] == hub.available_models()
    assert all(r["path"].startswith(str(cache_dir())) for r in rows)
    bad = subprocess.run(
        [*command, "models", "ViT-H/14"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "ViT-H/14" in bad.stderr


def test_models_resolve_names_the_family_slug_and_weights(capsys):
    assert main(["models", "--resolve", "openai:ViT-B/32", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    info = hub.get_model_info("ViT-B/32")
    assert row == {"name": "ViT-B/32", "family": "openai", "slug": "ViT-B-32",
                   "weights_sha256": info.sha256, "assumptions": []}  # fmt: skip
