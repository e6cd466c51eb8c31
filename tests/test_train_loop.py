"""The training loop: exact resume, NaN handling, checkpoints that bench.models loads, the log,
corrupt samples counted, and the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from train_fixtures import _one_torch_thread, write_csv  # noqa: F401

from bench.cli import main
from bench.errors import BenchError
from bench.models import load_checkpoint
from bench.train import loop
from bench.train.checkpoint import latest_checkpoint, list_checkpoints
from bench.train.config import load_config
from bench.train.loop import TrainingDivergedError, train


@pytest.fixture
def data(tmp_path):
    path, _ = write_csv(tmp_path / "data", 16, corrupt=(5,))
    return path


def _cfg(data, out, **kw):
    base = {
        "data": str(data),
        "steps": 4,
        "batch_size": 4,
        "workers": 0,
        "warmup_steps": 1,
        "lr": 2e-3,
        "log_every": 1,
        "checkpoint_every": 2,
        "keep_checkpoints": 0,
        "output_dir": str(out),
    }
    return load_config(None, {**base, **kw})


def _weights(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def test_checkpoint_is_openai_layout_and_loads(data, tmp_path):
    result = train(_cfg(data, tmp_path / "run", steps=2), progress=False)
    sd = _weights(result.checkpoint)
    assert all(isinstance(v, torch.Tensor) for v in sd.values())  # a plain state dict
    model = load_checkpoint(result.checkpoint)
    assert sorted(model.state_dict()) == sorted(sd)
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k
    assert model.weights_sha256 and model.config.image_resolution == 32
    images = torch.randn(2, 3, 32, 32)
    assert model.encode_image(images).shape == (2, 64)
    assert 0 < model.logit_scale.exp().item() <= 100
    # training moved the weights away from the seeded initialisation
    fresh = loop.build_model(_cfg(data, tmp_path / "x"))
    assert not torch.equal(fresh.state_dict()["visual.conv1.weight"], sd["visual.conv1.weight"])


def test_exact_resume(data, tmp_path, monkeypatch):
    straight = train(_cfg(data, tmp_path / "a"), progress=False)

    real_save = loop.Trainer.save

    def save_then_die(self):
        real_save(self)
        if self.step == 2:
            raise KeyboardInterrupt  # killed right after the step-2 checkpoint

    monkeypatch.setattr(loop.Trainer, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(_cfg(data, tmp_path / "b"), progress=False)
    monkeypatch.setattr(loop.Trainer, "save", real_save)
    assert latest_checkpoint(tmp_path / "b" / "checkpoints").step == 2
    resumed = train(_cfg(data, tmp_path / "b"), resume="latest", progress=False)
    assert resumed.step == 4
    a, b = _weights(straight.checkpoint), _weights(resumed.checkpoint)
    for k in a:
        assert torch.equal(a[k], b[k]), k  # bit for bit
    records = [json.loads(line) for line in open(resumed.log)]
    steps = [r["step"] for r in records if "loss" in r]
    assert steps == [1, 2, 3, 4]  # nothing logged twice
    assert resumed.skipped == straight.skipped


def test_resume_from_a_named_checkpoint_and_extend(data, tmp_path):
    train(_cfg(data, tmp_path / "a"), progress=False)
    first = list_checkpoints(tmp_path / "a" / "checkpoints")[0]
    assert first.step == 2
    again = train(_cfg(data, tmp_path / "c", steps=6), resume=first.weights, progress=False)
    assert again.step == 6 and again.checkpoint.name == "step_00000006.pt"


def _rewrite_saved_model_config(ckpt, edit) -> None:
    state = torch.load(ckpt.state, map_location="cpu", weights_only=False)
    edit(state["model_config"])
    torch.save(state, ckpt.state)


def test_resume_a_checkpoint_saved_before_activation_and_vision_heads(data, tmp_path):
    train(_cfg(data, tmp_path / "old", steps=2), progress=False)
    ckpt = latest_checkpoint(tmp_path / "old" / "checkpoints")

    def drop_new_fields(saved: dict) -> None:
        # A checkpoint written before these fields existed holds neither (their defaults).
        assert saved.pop("activation") == "quick_gelu" and saved.pop("vision_heads") is not None

    _rewrite_saved_model_config(ckpt, drop_new_fields)
    resumed = train(_cfg(data, tmp_path / "old"), resume="latest", progress=False)
    assert resumed.step == 4


def test_resume_refuses_a_checkpoint_of_another_model(data, tmp_path):
    train(_cfg(data, tmp_path / "gelu", steps=2), progress=False)
    ckpt = latest_checkpoint(tmp_path / "gelu" / "checkpoints")
    _rewrite_saved_model_config(ckpt, lambda saved: saved.update(activation="gelu"))
    with pytest.raises(BenchError, match="resume with the same model"):
        train(_cfg(data, tmp_path / "gelu"), resume="latest", progress=False)
    _rewrite_saved_model_config(ckpt, lambda saved: saved.update(colour="red"))
    with pytest.raises(BenchError, match=r"cannot read .*unknown fields \['colour'\]"):
        train(_cfg(data, tmp_path / "gelu"), resume="latest", progress=False)


def test_resume_without_checkpoint_says_where_it_looked(data, tmp_path):
    with pytest.raises(BenchError, match=r"nothing to resume from.*latest.json"):
        train(_cfg(data, tmp_path / "empty"), resume="latest", progress=False)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(data, tmp_path, monkeypatch):
    calls = {"n": 0}
    real_loss = loop.contrastive_loss

    def loss_nan_at_step_3(*args):
        calls["n"] += 1
        value = real_loss(*args)
        return value * float("nan") if calls["n"] == 3 else value

    monkeypatch.setattr(loop, "contrastive_loss", loss_nan_at_step_3)
    with pytest.raises(
        TrainingDivergedError, match=r"loss became nan at step 3.*step_00000002\.pt"
    ):
        train(_cfg(data, tmp_path / "run"), progress=False)
    kept = latest_checkpoint(tmp_path / "run" / "checkpoints")
    assert kept.step == 2 and kept.weights.exists()
    assert [c.step for c in list_checkpoints(tmp_path / "run" / "checkpoints")] == [2]
    load_checkpoint(kept.weights)  # the good checkpoint is intact
    last = json.loads(open(tmp_path / "run" / "log.jsonl").read().splitlines()[-1])
    assert last["event"] == "diverged" and last["step"] == 3


def test_log_records_and_corrupt_count(data, tmp_path):
    result = train(_cfg(data, tmp_path / "run", steps=8), progress=False)
    records = [json.loads(line) for line in open(result.log)]
    steps = [r for r in records if "loss" in r]
    assert len(steps) == 8
    for r in steps:
        assert {"loss", "lr", "samples_per_s", "logit_scale", "grad_norm"} <= r.keys()
        assert r["samples_per_s"] > 0 and r["logit_scale"] <= 100
    # 16 pairs, batch 4, 8 steps = 2 epochs: the corrupt row is met once per epoch
    assert result.skipped == 2 == steps[-1]["skipped_total"]
    assert any("images/0005.png" in name for r in steps for name in r.get("skipped", []))
    assert steps[0]["lr"] == pytest.approx(2e-3)  # warm-up of one step reaches the peak
    assert steps[-1]["lr"] < steps[1]["lr"]  # cosine decay


def test_logit_scale_is_clamped_at_100(data, tmp_path):
    from bench.train.checkpoint import load_train_state

    cfg = _cfg(data, tmp_path / "run", steps=2, lr=5.0, grad_clip=1.0)
    model = loop.build_model(cfg)
    with torch.no_grad():
        model.logit_scale.fill_(4.7)  # exp = 110
    trainer = loop.Trainer(cfg, progress=False)
    trainer.model.load_state_dict(model.state_dict())
    trainer.run()
    weights, _ = load_train_state(latest_checkpoint(tmp_path / "run" / "checkpoints"))
    assert weights["logit_scale"].exp().item() <= 100 + 1e-4


def test_cli_train_and_resume(data, tmp_path, capsys):
    args = [
        "train",
        "--set",
        f"data={data}",
        "--set",
        "steps=2",
        "--set",
        "batch_size=4",
        "--set",
        "workers=0",
        "--set",
        f"output_dir={tmp_path / 'run'}",
        "--no-progress",
        "--json",
    ]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["step"] == 2 and summary["skipped_samples"] >= 0
    assert main([*args[:-2], "--set", "steps=3", "--resume", "--no-progress", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 3


def test_cli_bad_data_is_one_line(tmp_path, capsys):
    assert main(["train", "--set", f"data={tmp_path / 'nope.csv'}", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope.csv" in err[0] and "does not exist" in err[0]


def test_zero_shot_eval_during_training(data, tmp_path):
    cfg = _cfg(
        data, tmp_path / "run", steps=2, eval_task="digits", eval_every=1, eval_max_samples=100
    )
    result = train(cfg, progress=False)
    evals = [json.loads(line) for line in open(result.log) if '"eval"' in line]
    assert [e["step"] for e in evals] == [1, 2]
    assert all(e["task"] == "digits" and e["n"] == 100 and 0 <= e["value"] <= 100 for e in evals)
    assert result.eval["value"] == evals[-1]["value"]


def test_unknown_eval_task_fails_before_training(data, tmp_path):
    from bench.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="did you mean 'digits'"):
        train(_cfg(data, tmp_path / "run", eval_task="digit"), progress=False)
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_gradient_checkpointing_gives_the_same_training(data, tmp_path):
    plain = train(_cfg(data, tmp_path / "a", steps=2), progress=False)
    ckpt = train(_cfg(data, tmp_path / "b", steps=2, grad_checkpointing=True), progress=False)
    assert ckpt.loss == pytest.approx(plain.loss, rel=1e-5)
    a, b = _weights(plain.checkpoint), _weights(ckpt.checkpoint)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)


def test_gradient_clipping_bounds_the_update_norm(data, tmp_path, monkeypatch):
    norms = []
    real_step = torch.optim.AdamW.step

    def record(self, *args, **kwargs):
        grads = [
            p.grad for group in self.param_groups for p in group["params"] if p.grad is not None
        ]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", record)
    result = train(_cfg(data, tmp_path / "run", steps=2, grad_clip=0.01), progress=False)
    logged = [json.loads(line)["grad_norm"] for line in open(result.log) if '"grad_norm"' in line]
    assert len(norms) == 2 and all(n == pytest.approx(0.01, rel=1e-3) for n in norms)
    assert all(g > 0.01 for g in logged)  # the log keeps the norm before clipping


def test_bf16_autocast_on_cpu_trains(data, tmp_path):
    result = train(_cfg(data, tmp_path / "run", steps=2, precision="bf16"), progress=False)
    assert result.loss == result.loss and load_checkpoint(result.checkpoint).dtype == torch.float32


@pytest.mark.gpu
def test_cuda_bf16_training(data, tmp_path):
    result = train(_cfg(data, tmp_path / "run", steps=3, device="cuda"), progress=False)
    assert result.loss == result.loss  # finite: NaN would have raised
    load_checkpoint(result.checkpoint)


@pytest.mark.slow
def test_torch_compile_trains(data, tmp_path):
    plain = train(_cfg(data, tmp_path / "a", steps=2), progress=False)
    compiled = train(_cfg(data, tmp_path / "b", steps=2, compile=True), progress=False)
    assert compiled.loss == pytest.approx(plain.loss, rel=1e-3)
    assert sorted(_weights(compiled.checkpoint)) == sorted(_weights(plain.checkpoint))


def test_checkpoint_writes_are_atomic(data, tmp_path, monkeypatch):
    from bench.train import checkpoint as ckpt_io

    train(_cfg(data, tmp_path / "run", steps=2), progress=False)
    folder = tmp_path / "run" / "checkpoints"
    real_save = torch.save

    def killed_midway(obj, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt_io.torch, "save", killed_midway)
    model = load_checkpoint(latest_checkpoint(folder).weights)
    with pytest.raises(BenchError, match=r"cannot write .*step_00000004.*disk full"):
        ckpt_io.save_checkpoint(folder, 4, model, {})
    monkeypatch.setattr(ckpt_io.torch, "save", real_save)
    assert latest_checkpoint(folder).step == 2
    assert not (folder / "step_00000004.pt").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temp files left
