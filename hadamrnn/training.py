"""The trainer: Adam with StepLR, sign-flip tracking, evaluation and exact resumption.

Batches are pure functions of ``(seed, epoch, index)`` and every piece of state (weights,
optimizer, scheduler, RNG, step counters, history) is checkpointed, so a run that is killed and
resumed ends with weights bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import STATE_FILE, load_checkpoint, save_checkpoint
from .config import RunConfig, parse_config
from .devices import resolve_device
from .distributed import SINGLE_PROCESS, DistributedContext
from .errors import CheckpointError, ConfigError
from .layers import HadamRNN
from .tasks.base import Task

__all__ = ["Trainer", "TrainResult", "config_difference", "evaluate_model", "progress_bar_fits"]


@dataclass
class TrainResult:
    metrics: dict[str, Any]
    history: dict[str, Any] = field(repr=False)


def config_difference(
    stored: dict[str, Any], current: dict[str, Any], prefix: str = "", ignored: frozenset[str] = frozenset()
) -> list[str]:
    """Keys whose values differ between two nested config dicts, as ``section.key: a != b``,
    leaving out the dotted keys in ``ignored``."""
    differences = []
    for key in sorted(set(stored) | set(current)):
        a, b = stored.get(key), current.get(key)
        if f"{prefix}{key}" in ignored:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            differences += config_difference(a, b, f"{prefix}{key}.", ignored)
        elif a != b:
            differences.append(f"{prefix}{key}: checkpoint has {a!r}, config has {b!r}")
    return differences


#: Config keys a resumed run may change: where training stops (StepLR steps once per epoch, so
#: the schedule of the epochs already run does not depend on it) and how many threads it uses.
CHANGEABLE_ON_RESUME = frozenset({"train.epochs", "train.num_threads"})


def _parameter_groups(model: nn.Module, sign_lr: float | None) -> list[dict[str, Any]]:
    """One group for the latent signs when they get their own learning rate, one for the rest."""
    if sign_lr is None:
        return [{"params": list(model.parameters())}]
    latent = {id(m.latent_signs) for m in model.modules() if isinstance(m, HadamRNN)}
    return [
        {"params": [p for p in model.parameters() if id(p) not in latent]},
        {"params": [p for p in model.parameters() if id(p) in latent], "lr": sign_lr},
    ]


def _signs_of(model: nn.Module) -> list[torch.Tensor]:
    return [module.latent_signs.detach() >= 0 for module in model.modules() if isinstance(module, HadamRNN)]


def progress_bar_fits() -> bool:
    """Whether a live progress bar helps: stdout and stderr are both terminals.

    tqdm redraws its bar on stderr several times a second and the epoch lines go to stdout; when
    either is a file or a pipe (``hadamrnn train copy > log.txt``, a batch job's log), every
    redraw would become a line of that file, so the trainer prints one line per epoch instead.
    """
    return all(stream is not None and hasattr(stream, "isatty") and stream.isatty() for stream in (sys.stdout, sys.stderr))


def _model_device(model: Callable) -> torch.device | None:
    if isinstance(model, nn.Module):
        parameter = next(model.parameters(), None)
        if parameter is not None:
            return parameter.device
    return None


@torch.no_grad()
def evaluate_model(
    model: Callable[[torch.Tensor], torch.Tensor],
    task: Task,
    split: str,
    batch_size: int,
    distributed: DistributedContext = SINGLE_PROCESS,
) -> dict[str, float]:
    """``task.metrics`` of ``model`` over the whole ``split``, averaged with batch-size weights.

    ``model`` is any function of a batch's inputs with the model's outputs: a module (run in eval
    mode, then put back in the mode it was in) or an integer simulation of it. Under data
    parallelism each rank evaluates its slice of every batch and the totals are summed over ranks,
    so every rank returns the same metrics. Batches go to the device of the module's parameters
    (a function without parameters receives them on the CPU).
    """
    device = _model_device(model)
    was_training = isinstance(model, nn.Module) and model.training
    if isinstance(model, nn.Module):
        model.eval()
    try:
        totals: dict[str, float] = {}
        count = 0
        for global_batch in task.batches(split, batch_size):
            count += global_batch.targets.shape[0]
            batch, _ = distributed.local_slice(global_batch)
            size = batch.targets.shape[0]
            if size == 0:
                continue
            inputs, targets = batch.inputs, batch.targets
            if device is not None and device.type != "cpu":
                inputs, targets = inputs.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            for key, value in task.metrics(model(inputs), targets).items():
                totals[key] = totals.get(key, 0.0) + value * size
        totals = distributed.sum_over_ranks(totals)
    finally:
        if was_training:
            model.train()
    return {key: value / count for key, value in totals.items()}


class Trainer:
    """Train ``model`` on ``task`` as ``config.train`` says, checkpointing under ``run_dir``.

    The model is moved to ``device``: ``"cpu"`` (the default), ``"cuda"``, ``"cuda:N"`` or
    ``"auto"`` (:func:`hadamrnn.devices.resolve_device`). Checkpoints hold CPU tensors and resume
    on any device; the bit-identical resumption is guaranteed on the CPU. ``progress`` shows a
    live progress bar, but only when stdout and stderr are terminals (:func:`progress_bar_fits`);
    one line per epoch is printed either way. ``provenance`` holds the command and commit that
    started the run.
    """

    def __init__(
        self,
        config: RunConfig,
        task: Task,
        model: nn.Module,
        run_dir: str | Path,
        progress: bool = True,
        distributed: DistributedContext = SINGLE_PROCESS,
        provenance: dict[str, str] | None = None,
        device: str | torch.device | None = None,
    ):
        self.config = config
        self.task = task
        self.device = resolve_device(device, distributed.local_rank if distributed.enabled else None)
        self.model = model.to(self.device)
        self.run_dir = Path(run_dir)
        self.distributed = distributed
        self.progress = progress and distributed.is_main
        train = config.train
        self.optimizer = torch.optim.Adam(_parameter_groups(model, train.sign_lr), lr=train.lr)
        self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=1, gamma=train.gamma)
        self.batches_per_epoch = task.num_batches("train", train.batch_size)
        if distributed.enabled:
            last = task.batch("train", self.batches_per_epoch - 1, train.batch_size).targets.shape[0]
            distributed.check_batch_size(train.batch_size, last)
        # The forward/backward path: the model itself, or its DDP wrapper (same parameters).
        self.network = distributed.wrap(model)
        self.step = 0
        self.epochs_completed = 0
        self.elapsed = 0.0
        self.history: dict[str, Any] = {"step": [], "train_loss": [], "lr": [], "sign_flips": [], "validation": []}
        # Where the run came from: the command and commit that started it and, after each
        # `--resume`, the command and commit that continued it (checkpointed, so they survive).
        self.provenance: dict[str, Any] = {**(provenance or {}), "resumes": []}

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    # -- state -------------------------------------------------------------------------------
    def _training_state(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        }

    def save(self) -> Path:
        """Write a checkpoint from rank 0; every rank returns its path once it exists."""
        if not self.distributed.is_main:
            self.distributed.barrier()
            return self.checkpoint_dir / f"step_{self.step:08d}"
        meta = {
            "config": self.config.model_dump(mode="json"),
            "epochs_completed": self.epochs_completed,
            "elapsed_seconds": self.elapsed,
            "history": self.history,
            "provenance": self.provenance,
        }
        path = save_checkpoint(
            self.checkpoint_dir,
            self.step,
            self.model.state_dict(),
            self._training_state(),
            meta,
            keep=self.config.train.keep_checkpoints,
        )
        self.distributed.barrier()
        return path

    def resume(self, path: str | Path | None = None) -> None:
        """Restore every piece of state from the latest checkpoint of this run (or ``path``)."""
        checkpoint = load_checkpoint(path or self.run_dir)
        if checkpoint.training_state is None:
            raise CheckpointError(
                f"cannot resume from {checkpoint.path}: it holds the final weights only (no {STATE_FILE}); "
                "resume needs a run directory's own checkpoint, with its optimizer state"
            )
        stored = checkpoint.meta.get("config")
        try:
            stored_config = parse_config(stored, f"stored in {checkpoint.path}")
        except ConfigError as error:
            raise CheckpointError(f"checkpoint {checkpoint.path} holds an invalid config: {error}") from None
        differences = config_difference(
            stored_config.model_dump(mode="json"), self.config.model_dump(mode="json"), ignored=CHANGEABLE_ON_RESUME
        )
        if differences:
            raise ConfigError(
                f"cannot resume {checkpoint.path} with a different config (only train.epochs and "
                "train.num_threads may change):\n  " + "\n  ".join(differences)
            )
        completed = int(checkpoint.meta["epochs_completed"])
        if self.config.train.epochs < completed:
            raise ConfigError(
                f"cannot resume {checkpoint.path} with train.epochs={self.config.train.epochs}: "
                f"expected at least the {completed} epochs it has completed"
            )
        try:
            self.model.load_state_dict(checkpoint.model_state, strict=True)
            self.optimizer.load_state_dict(checkpoint.training_state["optimizer"])
            self.scheduler.load_state_dict(checkpoint.training_state["scheduler"])
            torch.set_rng_state(checkpoint.training_state["torch_rng"])
        except (KeyError, RuntimeError, ValueError) as error:
            raise CheckpointError(f"checkpoint {checkpoint.path} does not match the model: {error}") from None
        self.step = int(checkpoint.meta["step"])
        self.epochs_completed = completed
        self.elapsed = float(checkpoint.meta.get("elapsed_seconds", 0.0))
        self.history = checkpoint.meta["history"]
        continuing = {key: value for key, value in self.provenance.items() if key != "resumes"}
        stored = checkpoint.meta.get("provenance")
        if stored:  # checkpoints written before provenance was recorded start the run here
            self.provenance = {**stored, "resumes": [*stored.get("resumes", []), continuing]}

    # -- loops -------------------------------------------------------------------------------
    def evaluate(self, split: str) -> dict[str, float]:
        """Metrics averaged over a whole split, weighted by batch size (each rank takes its slice)."""
        return evaluate_model(self.model, self.task, split, self.config.train.eval_batch_size, self.distributed)

    def _train_step(self, batch) -> tuple[float, int]:
        before = _signs_of(self.model)
        batch, share = self.distributed.local_slice(batch)
        inputs, targets = batch.inputs, batch.targets
        if self.device.type != "cpu":
            inputs, targets = inputs.to(self.device, non_blocking=True), targets.to(self.device, non_blocking=True)
        outputs = self.network(inputs)
        loss = self.task.loss(outputs, targets) * share
        # The global mean loss, identical on every rank, so that all ranks stop together.
        global_loss = self.distributed.mean_over_ranks(loss.detach())
        if not torch.isfinite(global_loss):
            raise FloatingPointError(f"training loss became {global_loss.item()} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        flips = sum(int((a != b).sum()) for a, b in zip(before, _signs_of(self.model)))
        return float(global_loss), flips

    def fit(self) -> TrainResult:
        train = self.config.train
        self.model.train()
        total_steps = train.epochs * self.batches_per_epoch
        live = self.progress and progress_bar_fits()
        bar = tqdm(total=total_steps, initial=self.step, disable=not live, unit="step", dynamic_ncols=True)
        try:
            while self.epochs_completed < train.epochs:
                epoch = self.epochs_completed
                bar.set_description(f"epoch {epoch + 1}/{train.epochs}")
                first = self.step - epoch * self.batches_per_epoch
                epoch_started, epoch_losses = time.perf_counter(), []
                for index in range(first, self.batches_per_epoch):
                    started = time.perf_counter()
                    loss, flips = self._train_step(self.task.batch("train", index, train.batch_size, epoch))
                    self.step += 1
                    self.elapsed += time.perf_counter() - started
                    lr = self.optimizer.param_groups[0]["lr"]
                    for key, value in (("step", self.step), ("train_loss", loss), ("lr", lr), ("sign_flips", flips)):
                        self.history[key].append(value)
                    epoch_losses.append(loss)
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4g}", lr=f"{lr:.3g}", flips=flips)
                    if self.step % train.checkpoint_every == 0 and index + 1 < self.batches_per_epoch:
                        self.save()
                self.scheduler.step()
                validation = self.evaluate("val")
                self.epochs_completed += 1
                self.history["validation"].append({"epoch": self.epochs_completed, "step": self.step, **validation})
                if self.distributed.is_main:
                    # One line per epoch, whether or not the bar is live: all a log file gets.
                    mean_loss = f"{sum(epoch_losses) / len(epoch_losses):.4g}" if epoch_losses else "n/a"
                    bar.write(
                        f"epoch {self.epochs_completed}/{train.epochs}: train loss {mean_loss}, validation "
                        + ", ".join(f"{k} {v:.4g}" for k, v in validation.items())
                        + f", {time.perf_counter() - epoch_started:.1f} s, step {self.step}/{total_steps}",
                        file=sys.stdout,
                    )
                self.save()
        finally:
            bar.close()
        return TrainResult(self.final_metrics(), self.history)

    def final_metrics(self) -> dict[str, Any]:
        test = self.evaluate("test")
        validation = self.history["validation"][-1] if self.history["validation"] else {}
        return {
            "name": self.config.name,
            "task": self.task.summary(),
            "steps": self.step,
            "epochs": self.epochs_completed,
            "train_seconds": self.elapsed,
            "seconds_per_epoch": self.elapsed / max(self.epochs_completed, 1),
            "final_train_loss": self.history["train_loss"][-1] if self.history["train_loss"] else math.nan,
            "validation": {k: v for k, v in validation.items() if k not in ("epoch", "step")},
            "test": test,
            "total_sign_flips": sum(self.history["sign_flips"]),
        }
