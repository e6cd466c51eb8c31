"""The training loop: one process, or one per device under ``torchrun``.

Run ``bench train --config FILE`` on one CPU or GPU, or
``torchrun --nproc_per_node=8 -m bench train --config FILE`` for data parallelism: every rank
builds the same model (same seed), DDP averages gradients, and the contrastive loss
all-gathers features with gradients (:mod:`bench.train.loss`), so a run on W ranks takes the
same steps as one process with the same global batch.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from bench.distributed import World, join
from bench.errors import BenchError
from bench.models.model import ModelConfig
from bench.train import checkpoint as ckpt_io
from bench.train.config import ConfigError, TrainConfig, save_config, to_dict
from bench.train.data import PairDataset, StepSampler, TrainTransform, make_loader, open_pairs
from bench.train.loss import contrastive_loss
from bench.train.optim import load_scheduler_state, make_optimizer, make_scheduler

MAX_LOGGED_SKIPS = 20  # names of skipped samples written to the log per record


class TrainingDivergedError(BenchError):
    """The loss (or gradient norm) stopped being finite; the last good checkpoint is kept."""

    def __init__(self, message: str, step: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.step, self.checkpoint = step, checkpoint


@dataclass
class Context:
    """Where this process runs: its place among the ranks (:class:`bench.distributed.World`,
    the one that evaluation uses too) and its device."""

    world: World = field(default_factory=World)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))


@dataclass
class TrainResult:
    """What a finished run reports."""

    step: int
    checkpoint: Path
    log: Path
    loss: float
    samples_per_s: float
    skipped: int
    eval: dict[str, Any] | None = None


def setup(device: str = "auto") -> Context:
    """Joins the process group when launched by torchrun (``WORLD_SIZE`` > 1).

    NCCL on GPUs, gloo on CPU; each rank takes ``cuda:LOCAL_RANK``
    (:func:`bench.distributed.join`, the one rule that evaluation uses too).
    """
    use_cuda = torch.cuda.is_available() and device != "cpu"
    if device not in ("auto", "cpu") and not device.startswith("cuda"):
        raise ConfigError(f"device {device!r} is not one of auto, cpu, cuda, cuda:N")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} asked for, but no CUDA device is visible; use cpu")
    world = join("cuda" if use_cuda else "cpu")
    if world.distributed:
        dev = world.device(torch.device("cuda" if use_cuda else "cpu"))
        return Context(world, dev)
    if device == "auto":
        device = "cuda" if use_cuda else "cpu"
    return Context(World(), torch.device(device))


def build_model(config: TrainConfig) -> nn.Module:
    """A freshly initialised CLIP for ``config.model`` (a config name or a JSON file).

    Raises:
        BenchError: unknown name (with close matches), or an architecture whose checkpoints
            would not load back (its heads differ from what the state dict implies).
    """
    from bench.models import CLIP, get_config
    from bench.models.loading import infer_config

    if config.model.endswith(".json"):
        path = Path(config.model)
        if not path.is_file():
            raise ConfigError(f"model config file {path} does not exist")
        model_config = ModelConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
    else:
        model_config = get_config(config.model)
    if config.context_length is not None:
        model_config = dataclasses.replace(model_config, context_length=config.context_length)
    torch.manual_seed(config.seed)  # same initial weights on every rank and every rerun
    model = CLIP(model_config)
    if infer_config(model.state_dict()) != model_config:
        raise BenchError(
            f"model {config.model!r}: checkpoints of this architecture would load back as "
            f"{infer_config(model.state_dict())}; use transformer_heads = transformer_width // 64"
        )
    return model


class CaptionTokenizer:
    """``caption -> LongTensor[context_length]`` (truncated); picklable for spawned workers."""

    def __init__(self, context_length: int) -> None:
        self.context_length = context_length

    def __call__(self, text: str) -> torch.Tensor:
        from bench.models import tokenize

        return tokenize([text], context_length=self.context_length, truncate=True)[0]


class ContrastiveTowers(nn.Module):
    """Both towers in one ``forward`` (what DDP wraps): features and the exp'd logit scale."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, tokens: torch.Tensor):
        return (
            self.model.encode_image(images),
            self.model.encode_text(tokens),
            self.model.logit_scale.exp(),
        )


def _autocast(ctx: Context, config: TrainConfig):
    bf16 = config.precision == "bf16" or (config.precision == "auto" and ctx.device.type == "cuda")
    return torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=bf16)


def _mean_over_ranks(value: torch.Tensor, ctx: Context) -> torch.Tensor:
    value = value.detach().clone()
    if ctx.world.distributed:
        dist.all_reduce(value)
        value /= ctx.world.size
    return value


class Trainer:
    """Holds a run's model, optimiser, data and log; :meth:`run` trains to ``config.steps``.

    Args:
        config: The run's configuration.
        resume: ``None`` to start afresh, ``"latest"`` for the newest checkpoint in
            ``output_dir``, or a checkpoint file / run folder.
        progress: Show a tqdm bar (main rank only).
    """

    def __init__(
        self, config: TrainConfig, resume: str | Path | None = None, progress: bool = True
    ) -> None:
        self.config, self.progress = config, progress
        self.ctx = setup(config.device)
        self.out = Path(config.output_dir)
        self.ckpt_dir = self.out / "checkpoints"
        self.log_path = self.out / "log.jsonl"
        self.source = open_pairs(config)  # bad data fails before anything is built
        if config.eval_task:
            from bench.tasks import get_task

            get_task(config.eval_task)  # an unknown task fails now, not at the first eval
        self.model = build_model(config).to(self.ctx.device)
        if config.grad_checkpointing:
            self.model.set_grad_checkpointing(True)
        self.optimizer = make_optimizer(self.model, config, self.model.config.is_vit)
        self.scheduler = make_scheduler(self.optimizer, config)
        self.step, self.last_ckpt = 0, None
        self.skipped_total, self.samples_per_s, self.lr = 0, 0.0, config.lr
        if resume is not None:
            self._resume(resume)
        self.forward = self._wrap(ContrastiveTowers(self.model))

    def _wrap(self, towers: nn.Module) -> nn.Module:
        if self.ctx.world.distributed:
            ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            towers = nn.parallel.DistributedDataParallel(towers, device_ids=ids)
        return torch.compile(towers) if self.config.compile else towers

    def _resume(self, resume: str | Path) -> None:
        found = ckpt_io.resolve_resume(resume, self.ckpt_dir)
        weights, state = ckpt_io.load_train_state(found)
        self._check_saved_model(found.weights, state.get("model_config"))
        self.model.load_state_dict(weights)
        self.optimizer.load_state_dict(state["optimizer"])
        load_scheduler_state(self.scheduler, state["scheduler"], self.config)
        ckpt_io.set_rng_state(state["rng"])
        self.step, self.last_ckpt = int(state["step"]), found.weights
        self.skipped_total = int(state.get("skipped", 0))

    def _check_saved_model(self, weights: Path, saved: dict[str, Any] | None) -> None:
        # Compared as configs, not raw dicts: checkpoints saved before a field was added
        # (activation, vision_heads) hold the field's default and still resume.
        if saved is None:
            return
        try:
            same = ModelConfig.from_dict(saved) == self.model.config
        except BenchError as err:
            raise BenchError(
                f"{weights} holds a model config bench cannot read ({err}); resume with a "
                "checkpoint of this bench version's model, or train afresh"
            ) from None
        if not same:
            raise BenchError(
                f"{weights} holds model {saved}, not {self.config.model!r} "
                f"({self.model.config.to_dict()}); resume with the same model"
            )

    # ------------------------------------------------------------------ data and logging

    def batches(self) -> Iterator[dict[str, Any]]:
        """This rank's batches from the current step to the end."""
        cfg, ctx = self.config, self.ctx
        transform = TrainTransform(self.model.image_resolution, cfg.crop_scale)
        tokenize = CaptionTokenizer(self.model.context_length)
        dataset = PairDataset(self.source, transform, tokenize, cfg.seed)
        sampler = StepSampler(
            len(dataset),
            cfg.batch_size,
            cfg.steps,
            seed=cfg.seed,
            start_step=self.step,
            rank=ctx.world.rank,
            world_size=ctx.world.size,
        )
        yield from make_loader(dataset, sampler, cfg.workers, ctx.device.type == "cuda")

    def log(self, record: dict[str, Any]) -> None:
        if self.ctx.world.is_main:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, sort_keys=True) + "\n")

    def _trim_log(self) -> None:
        """On resume, drops records of steps after the checkpoint (they will be redone)."""
        if not (self.ctx.world.is_main and self.log_path.exists()):
            return
        if self.step == 0:  # a fresh run in a used folder starts a fresh log
            self.log_path.unlink()
            return
        keep = [
            line
            for line in self.log_path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= self.step
        ]
        from bench.io import atomic_write_text

        atomic_write_text(self.log_path, "".join(line + "\n" for line in keep))

    # ------------------------------------------------------------------ one step

    def train_step(self, batch: dict[str, Any]) -> tuple[float, float]:
        """Forward, loss, backward, clip, optimiser and schedule step; clamps the logit scale.

        Returns:
            ``(loss, grad_norm)`` averaged over ranks (the loss is the global batch's).

        Raises:
            TrainingDivergedError: if either is not finite (no update is applied then).
        """
        dev = self.ctx.device
        images = batch["images"].to(dev, non_blocking=True)
        tokens = batch["tokens"].to(dev, non_blocking=True)
        self.model.train()
        with _autocast(self.ctx, self.config):
            image_features, text_features, scale = self.forward(images, tokens)
        loss = contrastive_loss(image_features, text_features, scale)
        global_loss = _mean_over_ranks(loss, self.ctx).item()
        if not math.isfinite(global_loss):
            self._diverged("loss", global_loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.config.grad_clip if self.config.grad_clip is not None else math.inf
        grad_norm = float(nn.utils.clip_grad_norm_(self.model.parameters(), clip))
        if not math.isfinite(grad_norm):
            self._diverged("gradient norm", grad_norm)
        self.lr = self.optimizer.param_groups[0]["lr"]  # the rate this step used
        self.optimizer.step()
        self.scheduler.step()
        with torch.no_grad():  # OpenAI: clamp the temperature so the scale stays <= 100
            self.model.logit_scale.clamp_(0, math.log(100))
        self.step += 1
        return global_loss, grad_norm

    def _diverged(self, what: str, value: float) -> None:
        step = self.step + 1
        where = (
            f"the last good checkpoint is {self.last_ckpt}; resume from it with "
            "--resume and a lower lr or --set grad_clip=1.0"
            if self.last_ckpt
            else "no checkpoint was written before it; lower lr or set grad_clip and start again"
        )
        self.log({"step": step, "event": "diverged", "what": what, "value": str(value)})
        raise TrainingDivergedError(
            f"the {what} became {value} at step {step}; training stopped; {where}",
            step,
            self.last_ckpt,
        )

    # ------------------------------------------------------------------ checkpoints and eval

    def save(self) -> None:
        """Writes a checkpoint of the current step (main rank) and waits for it on all ranks."""
        if self.ctx.world.is_main:
            state = {
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "config": to_dict(self.config),
                "model_config": self.model.config.to_dict(),
                "skipped": self.skipped_total,
            }
            written = ckpt_io.save_checkpoint(
                self.ckpt_dir, self.step, self.model, state, keep=self.config.keep_checkpoints
            )
            self.log({"step": self.step, "event": "checkpoint", "path": str(written.weights)})
        self.last_ckpt = ckpt_io.checkpoint_paths(self.ckpt_dir, self.step).weights
        if self.ctx.world.distributed:
            dist.barrier()

    def evaluate(self) -> dict[str, Any] | None:
        """Zero-shot accuracy on ``config.eval_task`` (main rank; others wait)."""
        from bench.train.evaluate import zero_shot_eval

        result = None
        if self.ctx.world.is_main:
            cfg = self.config
            result = zero_shot_eval(
                self.model,
                cfg.eval_task,
                split=cfg.eval_split,
                max_samples=cfg.eval_max_samples,
                device=self.ctx.device,
            )
            self.log({"step": self.step, "event": "eval", **result})
        if self.ctx.world.distributed:
            dist.barrier()
        return result

    # ------------------------------------------------------------------ the loop

    def run(self) -> TrainResult:
        """Trains from the current step to ``config.steps``; see :class:`TrainResult`.

        Raises:
            TrainingDivergedError: the loss or gradient norm became NaN/inf.
            DataError, DataMissingError: the data cannot be read.
        """
        cfg = self.config
        if self.ctx.world.is_main:
            save_config(cfg, self.out / "config.yaml")
            self._trim_log()
        self.log(
            {
                "step": self.step,
                "event": "resume" if self.step else "start",
                "world_size": self.ctx.world.size,
                "device": str(self.ctx.device),
                "pairs": len(self.source),
                "incomplete_samples": getattr(self.source, "incomplete", 0),
            }
        )
        window, loss, result = _Window(), math.nan, None
        bar = tqdm(
            total=cfg.steps,
            initial=self.step,
            unit="step",
            desc="train",
            disable=not (self.progress and self.ctx.world.is_main),
            dynamic_ncols=True,
        )
        with bar:
            for batch in self.batches():
                loss, grad_norm = self.train_step(batch)
                window.add(loss, batch["skipped"])
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    record = self._log_window(window, grad_norm)
                    bar.set_postfix(
                        loss=f"{loss:.4f}",
                        lr=f"{record['lr']:.2e}",
                        samples_s=f"{record['samples_per_s']:.1f}",
                    )
                    window = _Window()
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                    self.save()
                if cfg.eval_task and cfg.eval_every and self.step % cfg.eval_every == 0:
                    result = self.evaluate()
        if self.last_ckpt is None or not self.last_ckpt.name.startswith(f"step_{self.step:08d}"):
            self.save()  # e.g. resumed at the final step: make sure the end is on disk
        if cfg.eval_task and (not cfg.eval_every or cfg.steps % cfg.eval_every):
            result = self.evaluate()
        return TrainResult(
            self.step,
            self.last_ckpt,
            self.log_path,
            loss,
            self.samples_per_s,
            self.skipped_total,
            result,
        )

    def _log_window(self, window: _Window, grad_norm: float) -> dict[str, Any]:
        skipped = window.skipped
        if self.ctx.world.distributed:  # every rank's skipped names, for the count and the log
            gathered: list[list[str]] = [[] for _ in range(self.ctx.world.size)]
            dist.all_gather_object(gathered, skipped)
            skipped = [name for part in gathered for name in part]
        self.skipped_total += len(skipped)
        elapsed = max(time.perf_counter() - window.start, 1e-9)
        self.samples_per_s = window.steps * self.config.batch_size / elapsed
        record = {
            "step": self.step,
            "loss": window.loss_sum / max(window.steps, 1),
            "lr": self.lr,
            "logit_scale": float(self.model.logit_scale.detach().exp()),
            "grad_norm": grad_norm,
            "samples_per_s": self.samples_per_s,
            "skipped_total": self.skipped_total,
        }
        if skipped:
            record["skipped"] = skipped[:MAX_LOGGED_SKIPS]
        self.log(record)
        return record


class _Window:
    """Running sums between two log records."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.loss_sum, self.steps, self.skipped = 0.0, 0, []

    def add(self, loss: float, skipped: list[str]) -> None:
        self.loss_sum += loss
        self.steps += 1
        self.skipped.extend(skipped)


def train(
    config: TrainConfig, resume: str | Path | None = None, progress: bool = True
) -> TrainResult:
    """Trains a CLIP model as ``config`` says; see :class:`Trainer`.

    Args:
        config: The run's configuration.
        resume: ``None``, ``"latest"`` or a checkpoint file / run folder to continue from.
        progress: Show a progress bar.

    Returns:
        The final step, checkpoint, log path, loss, throughput, skipped samples and eval.

    Raises:
        BenchError: for bad config, data or checkpoint, or a loss that became NaN (the last
            good checkpoint is kept and named).
    """
    threads = torch.get_num_threads()
    if config.cpu_threads is not None:
        torch.set_num_threads(config.cpu_threads)
    trainer = None
    try:
        trainer = Trainer(config, resume=resume, progress=progress)
        return trainer.run()
    finally:
        torch.set_num_threads(threads)
        if trainer is not None:
            trainer.ctx.world.close()
