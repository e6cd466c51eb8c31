"""The training config: file + --set overrides, types, unknown keys with close matches."""

from __future__ import annotations

import json

import pytest

from bench.cli import main
from bench.train.config import ConfigError, TrainConfig, load_config, packaged_configs


def test_yaml_file_then_overrides(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("steps: 50\nlr: 1e-3\ncrop_scale: [0.5, 1.0]\ngrad_clip: 2\n")
    cfg = load_config(path, ["steps=7", "grad_clip=null", "eval_task=digits", "precision=fp32"])
    assert cfg.steps == 7  # --set wins over the file
    assert cfg.lr == pytest.approx(1e-3)
    assert cfg.crop_scale == (0.5, 1.0)
    assert cfg.grad_clip is None
    assert cfg.eval_task == "digits"
    assert isinstance(cfg.lr, float) and isinstance(cfg.steps, int)


def test_json_file_and_int_as_float(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"batch_size": 32, "weight_decay": 0}))
    cfg = load_config(path)
    assert cfg.batch_size == 32 and cfg.weight_decay == 0.0 and isinstance(cfg.weight_decay, float)
    assert cfg.beta2 is None  # chosen from the architecture later


def test_unknown_key_names_close_matches(tmp_path):
    with pytest.raises(ConfigError, match=r"'stpes'.*did you mean 'steps'"):
        load_config(None, ["stpes=3"])
    path = tmp_path / "bad.yaml"
    path.write_text("warmup: 10\n")
    with pytest.raises(ConfigError, match=r"'warmup'.*bad.yaml.*'warmup_steps'"):
        load_config(path)


@pytest.mark.parametrize(
    "override, message",
    [
        ("steps=abc", "'steps' must be int"),
        ("steps=0", "steps must be >= 1"),
        ("lr=true", "'lr' must be float"),
        ("precision=fp16", "precision='fp16' is not one of"),
        ("crop_scale=[0.9]", "'crop_scale' must be"),
        ("crop_scale=[0.9, 1.5]", "crop_scale must satisfy"),
        ("novalue", "--set expects key=value"),
    ],
)
def test_bad_values_are_named(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config(None, [override])


def test_missing_config_file_and_packaged_names():
    assert "tiny-digits" in packaged_configs()
    cfg = load_config("tiny-digits")
    assert isinstance(cfg, TrainConfig) and cfg.model
    with pytest.raises(ConfigError, match="did you mean 'tiny-digits'"):
        load_config("tiny-digit")


def test_every_packaged_config_loads():
    for name, path in packaged_configs().items():
        assert load_config(path).steps >= 1, name


def test_cli_unknown_key_is_one_line_exit_2(capsys):
    assert main(["train", "--set", "bach_size=8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did you mean 'batch_size'" in err[0]


def test_cli_print_config(capsys):
    assert main(["train", "--config", "tiny-digits", "--set", "steps=3", "--print-config"]) == 0
    assert "steps: 3" in capsys.readouterr().out
