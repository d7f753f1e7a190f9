"""The trainer: Adam with StepLR, sign-flip tracking, evaluation and exact resumption.

Batches are pure functions of ``(seed, epoch, index)`` and every piece of state (weights,
optimizer, scheduler, RNG, step counters, history) is checkpointed, so a run that is killed and
resumed ends with weights bit-identical to an uninterrupted run.

SIGINT (Ctrl-C) and SIGTERM stop :meth:`Trainer.fit` gracefully: the current step finishes, a
checkpoint is written, and :class:`~hadamrnn.errors.TrainingInterrupted` is raised, so no step is
lost. A second SIGINT during that stop interrupts at once, with a plain ``KeyboardInterrupt``.
"""

from __future__ import annotations

import math
import re
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .checkpoint import STATE_FILE, load_checkpoint, remove_staging_leftovers, save_checkpoint
from .config import RunConfig, parse_config
from .devices import resolve_device
from .distributed import SINGLE_PROCESS, DistributedContext
from .errors import CheckpointError, ConfigError, TrainingInterrupted
from .optim import Bop, radial_part, remove_radial_, sign_parameter_groups, sign_parameters
from .sign_search import check_searchable, search_signs
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

#: Where ``train.keep_best`` keeps the best validation epoch's weights, as a run directory of its
#: own (``hadamrnn evaluate RUN/best`` reads it).
BEST_DIR = "best"


def monitored_metric(validation: dict[str, float]) -> tuple[str, float]:
    """What "best" means for ``train.keep_best``: ``("accuracy", a)`` when the task reports an
    accuracy, else ``("loss", l)``; returns the name and a score where higher is better."""
    if "accuracy" in validation:
        return "accuracy", float(validation["accuracy"])
    return "loss", -float(validation["loss"])


#: ``|ũ|`` below this counts as a latent sign about to flip (the per-epoch ``small_fraction``).
SMALL_LATENT = 1e-3


def _sign_statistics(model: nn.Module, small: float = SMALL_LATENT) -> dict[str, float]:
    """The latent signs' gradient split (radial: ``|<g, u>|/√n``, tangential: the rest's norm) and
    the fraction of ``|ũ|`` below ``small``, over every HadamRNN of ``model``."""
    radial = tangential = 0.0
    below = count = 0
    for latent in sign_parameters(model):
        count += latent.numel()
        below += int((latent.detach().abs() < small).sum())
        if latent.grad is None:
            continue
        along = float(radial_part(latent.grad, latent))
        total = float(latent.grad.square().sum())
        radial += along * along * latent.numel()
        tangential += max(total - along * along * latent.numel(), 0.0)
    return {"radial": math.sqrt(radial), "tangential": math.sqrt(tangential), "small_fraction": below / max(count, 1)}


#: The signals that stop training gracefully.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _StopRequests:
    """Records SIGINT and SIGTERM while installed, instead of letting them interrupt a step.

    The first signal is only recorded (the trainer stops after its current step, with a
    checkpoint); the handlers of the signals are then restored, so a second Ctrl-C interrupts at
    once. Installed only from the main thread, where Python runs signal handlers.
    """

    def __init__(self, announce: bool):
        self.received: int | None = None
        self._announce = announce
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequests:
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._record)
        return self

    def __exit__(self, *exc_info) -> None:
        self._restore()

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _record(self, number: int, frame) -> None:
        self.received = number
        self._restore()
        if self._announce:
            print(
                f"\n{signal.Signals(number).name} received: stopping after the current step and writing a "
                "checkpoint (Ctrl-C again stops at once, without one)",
                file=sys.stderr,
                flush=True,
            )


def _signs_of(model: nn.Module) -> list[torch.Tensor]:
    return [latent.detach() >= 0 for latent in sign_parameters(model)]


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


class _NoStops:
    """The stand-in for :class:`_StopRequests` when signals are left alone."""

    received = None

    def __enter__(self) -> _NoStops:
        return self

    def __exit__(self, *exc_info) -> None:
        pass


_NO_STOPS = _NoStops()


def _checked_training_meta(checkpoint, batches_per_epoch: int) -> tuple[int, dict[str, Any]]:
    """``(epochs_completed, history)`` of a checkpoint's meta.json, checked to have their shapes."""
    meta, where = checkpoint.meta, f"checkpoint {checkpoint.path}: meta.json"
    completed = meta.get("epochs_completed")
    if isinstance(completed, bool) or not isinstance(completed, int) or completed < 0:
        got = "no such key" if "epochs_completed" not in meta else repr(completed)
        raise CheckpointError(f"{where}: expected key 'epochs_completed' to be an integer >= 0, got {got}")
    if completed * batches_per_epoch > meta["step"]:
        raise CheckpointError(
            f"{where}: expected 'step' >= epochs_completed x batches per epoch = {completed * batches_per_epoch}, "
            f"got step {meta['step']}"
        )
    elapsed = meta.get("elapsed_seconds", 0.0)
    if isinstance(elapsed, bool) or not isinstance(elapsed, (int, float)) or not math.isfinite(elapsed):
        raise CheckpointError(f"{where}: expected key 'elapsed_seconds' to be a finite number, got {elapsed!r:.80}")
    history = meta.get("history")
    keys = ("step", "train_loss", "lr", "sign_flips", "validation")
    if not isinstance(history, dict) or not all(isinstance(history.get(key), list) for key in keys):
        got = "no such key" if "history" not in meta else f"{history!r:.80}"
        raise CheckpointError(f"{where}: expected key 'history' to be an object of lists {list(keys)}, got {got}")
    lengths = {key: len(history[key]) for key in keys[:4]}
    if set(lengths.values()) != {meta["step"]} and not (meta["step"] == 0 and set(lengths.values()) <= {0}):
        raise CheckpointError(f"{where}: expected one history entry per step ({meta['step']}), got {lengths}")
    return completed, history


def _check_training_state(checkpoint) -> None:
    """The optimizer, scheduler and RNG state of a checkpoint have the shapes resume needs."""
    state, where = checkpoint.training_state, f"checkpoint {checkpoint.path}: {STATE_FILE}"
    if not isinstance(state, dict):
        raise CheckpointError(f"{where}: expected a dict, got a {type(state).__name__}")
    for key in ("optimizer", "scheduler"):
        if not isinstance(state.get(key), dict):
            got = "no such key" if key not in state else f"a {type(state[key]).__name__}"
            raise CheckpointError(f"{where}: expected key {key!r} to be a state dict, got {got}")
    rng, expected = state.get("torch_rng"), torch.get_rng_state()
    if not isinstance(rng, torch.Tensor) or rng.dtype != expected.dtype or rng.shape != expected.shape:
        got = f"{rng.dtype} tensor of shape {tuple(rng.shape)}" if isinstance(rng, torch.Tensor) else f"{type(rng).__name__}"
        raise CheckpointError(
            f"{where}: expected key 'torch_rng' to be a {expected.dtype} tensor of shape {tuple(expected.shape)} "
            f"(torch.get_rng_state()), got {got}"
        )


def _with_embedding_group(groups: list[dict], model: nn.Module, weight_decay: float) -> list[dict]:
    """``groups`` with the embedding's weight moved into a last group of its own, decayed."""
    embedding = getattr(model, "embedding", None)
    if not isinstance(embedding, nn.Embedding):
        raise ConfigError(
            f"train.embedding_weight_decay needs a model with a token embedding, got {type(model).__name__} "
            f"without one (embedding_weight_decay={weight_decay})"
        )
    weight = embedding.weight
    rest = [{**group, "params": [p for p in group["params"] if p is not weight]} for group in groups]
    # Decoupled (AdamW's) decay: it shrinks the embedding by lr·decay a step whatever the scale of
    # its gradient, which Adam's own (coupled) decay would divide away.
    return [*rest, {"params": [weight], "weight_decay": weight_decay, "decoupled_weight_decay": True}]


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
        signs, rest = sign_parameter_groups(model)
        # One Adam for everything unless the signs learn otherwise; with adam and sign_lr the
        # signs are Adam's second group, so that older checkpoints keep their layout.
        self.sign_optimizer: Bop | None = None
        if train.sign_optimizer == "adam" and train.sign_lr is None:
            groups = [{"params": list(model.parameters())}]
        elif train.sign_optimizer == "adam":
            groups = [rest, {**signs, "lr": train.sign_lr}]
        else:
            groups = [rest]
        if train.sign_optimizer == "bop" and signs["params"]:
            self.sign_optimizer = Bop(
                signs["params"], gamma=train.bop_gamma, threshold=train.bop_threshold, max_flips=train.max_flips
            )
        if train.sign_optimizer == "search":
            check_searchable(model, task, train.search_options())
        if train.embedding_weight_decay is not None:
            groups = _with_embedding_group(groups, model, train.embedding_weight_decay)
        self.optimizer = torch.optim.Adam(groups, lr=train.lr)
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
        self.history: dict[str, Any] = {
            "step": [], "train_loss": [], "lr": [], "sign_flips": [], "validation": [], "sign_statistics": []
        }
        self._epoch_signs: dict[str, float] = {}
        # Where the run came from: the command and commit that started it and, after each
        # `--resume`, the command and commit that continued it (checkpointed, so they survive).
        self.provenance: dict[str, Any] = {**(provenance or {}), "resumes": []}

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"

    # -- state -------------------------------------------------------------------------------
    def _training_state(self) -> dict[str, Any]:
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        }
        if self.sign_optimizer is not None:
            state["sign_optimizer"] = self.sign_optimizer.state_dict()
        return state

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
            "epoch_sign_statistics": self._epoch_signs,
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
        """Restore every piece of state from the latest checkpoint of this run (or ``path``).

        First clears what a process killed while writing a checkpoint left in ``checkpoints/``
        (:func:`~hadamrnn.checkpoint.remove_staging_leftovers`): the caller holds the run.
        """
        if self.distributed.is_main:
            remove_staging_leftovers(self.checkpoint_dir)
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
        completed, history = _checked_training_meta(checkpoint, self.batches_per_epoch)
        if self.config.train.epochs < completed:
            raise ConfigError(
                f"cannot resume {checkpoint.path} with train.epochs={self.config.train.epochs}: "
                f"expected at least the {completed} epochs it has completed"
            )
        _check_training_state(checkpoint)
        try:
            self.model.load_state_dict(checkpoint.model_state, strict=True)
            self.optimizer.load_state_dict(checkpoint.training_state["optimizer"])
            self.scheduler.load_state_dict(checkpoint.training_state["scheduler"])
            if self.sign_optimizer is not None:
                self.sign_optimizer.load_state_dict(checkpoint.training_state["sign_optimizer"])
            torch.set_rng_state(checkpoint.training_state["torch_rng"])
        except (KeyError, RuntimeError, ValueError, TypeError, IndexError, AttributeError) as error:
            raise CheckpointError(f"checkpoint {checkpoint.path} does not match the model: {error}") from None
        self.step = checkpoint.meta["step"]
        self.epochs_completed = completed
        self.elapsed = float(checkpoint.meta.get("elapsed_seconds", 0.0))
        self.history = {"sign_statistics": [], **history}
        partial = checkpoint.meta.get("epoch_sign_statistics") or {}
        if not isinstance(partial, dict) or not all(
            isinstance(value, (int, float)) and not isinstance(value, bool) for value in partial.values()
        ):
            raise CheckpointError(
                f"checkpoint {checkpoint.path}: meta.json: expected key 'epoch_sign_statistics' to be an object of "
                f"numbers, got {partial!r:.80}"
            )
        self._epoch_signs = dict(partial)
        continuing = {key: value for key, value in self.provenance.items() if key != "resumes"}
        stored = checkpoint.meta.get("provenance")
        if stored is not None and not isinstance(stored, dict):
            raise CheckpointError(f"checkpoint {checkpoint.path}: meta.json: expected key 'provenance' to be an object, got {stored!r:.80}")
        if stored:  # checkpoints written before provenance was recorded start the run here
            self.provenance = {**stored, "resumes": [*stored.get("resumes", []), continuing]}

    # -- loops -------------------------------------------------------------------------------
    def evaluate(self, split: str) -> dict[str, float]:
        """Metrics averaged over a whole split, weighted by batch size (each rank takes its slice)."""
        return evaluate_model(self.model, self.task, split, self.config.train.eval_batch_size, self.distributed)

    def _fuses_loss(self) -> bool:
        """Whether the training step asks the model for the task's loss directly
        (:meth:`hadamrnn.heads.SequenceHead.loss`, fused with the read-out on the native backend)
        instead of computing ``task.loss`` of its logits: the task's loss is a loss over every step
        (``task.step_loss``) and the model has ``loss``. Not under data parallelism, whose wrapper
        only sees ``forward``. The value is the same loss either way, up to rounding."""
        return (
            getattr(self.task, "step_loss", None) is not None
            and not self.distributed.enabled
            and callable(getattr(self.model, "loss", None))
        )

    def _loss(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self._fuses_loss():
            return self.model.loss(inputs, targets, self.task.step_loss)
        return self.task.loss(self.network(inputs), targets)

    def _train_step(self, batch) -> tuple[float, int]:
        before = _signs_of(self.model)
        batch, share = self.distributed.local_slice(batch)
        inputs, targets = batch.inputs, batch.targets
        if self.device.type != "cpu":
            inputs, targets = inputs.to(self.device, non_blocking=True), targets.to(self.device, non_blocking=True)
        loss = self._loss(inputs, targets) * share
        # The global mean loss, identical on every rank, so that all ranks stop together.
        global_loss = self.distributed.mean_over_ranks(loss.detach())
        if not torch.isfinite(global_loss):
            raise FloatingPointError(f"training loss became {global_loss.item()} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        for latent in sign_parameters(self.model):
            latent.grad = None
        loss.backward()
        statistics = _sign_statistics(self.model)
        if self.config.train.sign_gradient == "radial_free":
            for latent in sign_parameters(self.model):
                if latent.grad is not None:
                    remove_radial_(latent)
        self.optimizer.step()
        if self.sign_optimizer is not None:
            self.sign_optimizer.step()
        flips = sum(int((a != b).sum()) for a, b in zip(before, _signs_of(self.model)))
        for key, value in (("steps", 1), ("flips", flips), ("radial", statistics["radial"]),
                           ("tangential", statistics["tangential"])):
            self._epoch_signs[key] = self._epoch_signs.get(key, 0.0) + value
        return float(global_loss), flips

    def fit(self, stop_on_signals: bool = True) -> TrainResult:
        """Train until ``train.epochs`` are completed; checkpoint as the config says.

        With ``stop_on_signals`` (and in the main thread), SIGINT and SIGTERM stop training after
        the current step: a checkpoint is written and :class:`~hadamrnn.errors.TrainingInterrupted`
        is raised, naming it. Resuming from it continues exactly (bit-identical weights).
        """
        train = self.config.train
        self.model.train()
        total_steps = train.epochs * self.batches_per_epoch
        live = self.progress and progress_bar_fits()
        bar = tqdm(total=total_steps, initial=self.step, disable=not live, unit="step", dynamic_ncols=True)
        stops = _StopRequests(announce=self.distributed.is_main) if stop_on_signals else None
        if train.sign_optimizer == "search" and self.step == 0 and "sign_search" not in self.history:
            self._search_signs(bar)
        try:
            with stops if stops is not None else _NO_STOPS:
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
                        saved = None
                        if self.step % train.checkpoint_every == 0 and index + 1 < self.batches_per_epoch:
                            saved = self.save()
                        # A stop after the last step of an epoch saves before the epoch's end (scheduler
                        # step, validation): the resumed run does them, exactly as this one would have.
                        self._stop_if_requested(stops, saved)
                    with warnings.catch_warnings():
                        # A run resumed at the end of an epoch steps the scheduler before its first
                        # optimizer step in this process; the restored state makes that correct.
                        warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))
                        self.scheduler.step()
                    if self.sign_optimizer is not None:
                        for group in self.sign_optimizer.param_groups:
                            group["threshold"] *= train.bop_threshold_decay
                    validation = self.evaluate("val")
                    self.epochs_completed += 1
                    self._record_sign_statistics()
                    if train.keep_best:
                        self._keep_if_best(validation)
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
                    self._stop_if_requested(stops, self.save())
        finally:
            bar.close()
        return TrainResult(self.final_metrics(), self.history)

    def _search_signs(self, bar: tqdm) -> None:
        """Search the signs on the first training sequences of epoch 0 (hadamrnn.sign_search).

        Every rank runs the same search on the same sequences with the same generator, so the
        ranks agree without a broadcast.
        """
        options = self.config.train.search_options()
        fit, score = options["fit_sequences"], options["score_sequences"]
        batch = self.task.batch("train", 0, fit + score, 0)
        inputs, targets = batch.inputs.to(self.device), batch.targets.to(self.device)
        generator = torch.Generator().manual_seed(self.config.train.seed)
        started = time.perf_counter()
        result = search_signs(
            self.model, inputs[:fit], targets[:fit], inputs[fit:], targets[fit:],
            num_classes=self.task.output_size, evaluations=options["evaluations"], flips=options["flips"],
            ridge=options["ridge"], generator=generator, batch_size=self.config.train.eval_batch_size,
        )
        seconds = time.perf_counter() - started
        # The search is part of what the recipe costs: train_seconds counts it.
        self.elapsed += seconds
        self.history["sign_search"] = result.as_dict()
        if self.distributed.is_main:
            bar.write(
                f"sign search: {result.evaluations} proposals of {options['flips']} flips, {result.accepted} kept, "
                f"{result.changed} of {self.model.rnn.hidden_size} signs changed; ridge read-out on held-back "
                f"training sequences: MSE {result.initial.mse:.4g} -> {result.final.mse:.4g}, accuracy "
                f"{result.initial.accuracy:.4g} -> {result.final.accuracy:.4g} "
                f"({seconds:.1f} s)",
                file=sys.stdout,
            )

    def _record_sign_statistics(self) -> None:
        """One entry per epoch: sign flips, mean radial/tangential sign-gradient norms, and the
        fraction of latent signs within :data:`SMALL_LATENT` of a flip at the epoch's end."""
        totals, self._epoch_signs = self._epoch_signs, {}
        steps = max(totals.get("steps", 0.0), 1.0)
        self.history["sign_statistics"].append({
            "epoch": self.epochs_completed,
            "flips": int(totals.get("flips", 0)),
            "radial": totals.get("radial", 0.0) / steps,
            "tangential": totals.get("tangential", 0.0) / steps,
            "small_fraction": _sign_statistics(self.model)["small_fraction"],
        })

    @property
    def best_dir(self) -> Path:
        return self.run_dir / BEST_DIR

    def _keep_if_best(self, validation: dict[str, float]) -> None:
        """Write this epoch's weights to :attr:`best_dir` when its validation beats every earlier epoch."""
        name, score = monitored_metric(validation)
        best = self.history.get("best")
        if best is not None and score <= best["score"]:
            return
        self.history["best"] = {"epoch": self.epochs_completed, "step": self.step, "metric": name, "score": score}
        if self.distributed.is_main:
            meta = {"config": self.config.model_dump(mode="json"), "epochs_completed": self.epochs_completed,
                    "validation": validation}
            save_checkpoint(self.best_dir / "checkpoints", self.step, self.model.state_dict(), None, meta, keep=1)
        self.distributed.barrier()

    def _best_metrics(self) -> dict[str, Any] | None:
        """The best validation epoch and the test metrics of its weights (kept under :attr:`best_dir`)."""
        best = self.history.get("best")
        if best is None:
            return None
        checkpoint = load_checkpoint(self.best_dir)
        current = {key: value.detach().clone() for key, value in self.model.state_dict().items()}
        self.model.load_state_dict(checkpoint.model_state, strict=True)
        try:
            test = self.evaluate("test")
        finally:
            self.model.load_state_dict(current, strict=True)
        validation = next(row for row in self.history["validation"] if row["epoch"] == best["epoch"])
        return {
            "epoch": best["epoch"],
            "metric": best["metric"],
            "validation": {k: v for k, v in validation.items() if k not in ("epoch", "step")},
            "test": test,
        }

    def _stop_if_requested(self, stops: _StopRequests | None, saved: Path | None) -> None:
        """Raise :class:`TrainingInterrupted` after a checkpoint if a stop signal arrived (on any rank)."""
        received = stops.received if stops is not None else None
        if self.distributed.enabled:  # every rank stops at the same step, or the others would hang
            flags = self.distributed.mean_over_ranks(torch.tensor(0.0 if received is None else float(received)))
            if float(flags) == 0.0:
                return
            received = received or signal.SIGTERM
        elif received is None:
            return
        checkpoint = saved if saved is not None else self.save()
        raise TrainingInterrupted(received, self.step, checkpoint)

    def final_metrics(self) -> dict[str, Any]:
        test = self.evaluate("test")
        validation = self.history["validation"][-1] if self.history["validation"] else {}
        best = self._best_metrics() if self.config.train.keep_best else None
        return {
            **({"best": best} if best is not None else {}),
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
            **({"sign_search": {key: value for key, value in self.history["sign_search"].items() if key != "mse_history"}}
               if "sign_search" in self.history else {}),
        }
