"""Multi-process data-parallel training: the plumbing the trainer needs, and nothing else.

``torchrun --nproc_per_node=K -m hadamrnn train ...`` sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; :func:`init_from_env` turns them into a :class:`DistributedContext` (one process
when they are absent). Every rank builds the same global batch (a pure function of
``(seed, split, epoch, index)``) and keeps its contiguous slice of it, so K processes see exactly
the data one process sees.

Loss scaling: DDP averages gradients over the ranks. A rank whose slice holds ``s_r`` of the
``B`` samples scales its mean loss by ``s_r · K / B``; the average of the scaled gradients is then
the gradient of the global mean loss, whether or not the slices are equal (they are equal, and the
factor exactly 1, when ``K`` divides the batch).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import torch
from torch import distributed as dist
from torch import nn

from .errors import ConfigError
from .tasks.base import Batch

__all__ = ["DistributedContext", "init_from_env", "SINGLE_PROCESS"]


@dataclass(frozen=True)
class DistributedContext:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes checkpoints, metrics and plots, and prints."""
        return self.rank == 0

    def check_batch_size(self, batch_size: int, last_batch_size: int) -> None:
        if batch_size % self.world_size:
            raise ConfigError(
                f"train.batch_size must be divisible by the number of processes ({self.world_size}), got {batch_size}"
            )
        if last_batch_size < self.world_size:
            raise ConfigError(
                f"the last training batch must hold at least one sample per process ({self.world_size}), "
                f"got {last_batch_size}: change train.batch_size or the training set size"
            )

    def local_slice(self, batch: Batch) -> tuple[Batch, float]:
        """This rank's contiguous slice of a global batch, and its share ``s_r · K / B`` of the loss."""
        if not self.enabled:
            return batch, 1.0
        total = batch.targets.shape[0]
        start, stop = total * self.rank // self.world_size, total * (self.rank + 1) // self.world_size
        share = (stop - start) * self.world_size / total
        return Batch(batch.inputs[start:stop], batch.targets[start:stop]), share

    def mean_over_ranks(self, value: torch.Tensor) -> torch.Tensor:
        """The mean of a scalar over the ranks (the value itself in one process)."""
        if not self.enabled:
            return value
        value = value.detach().clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value / self.world_size

    def sum_over_ranks(self, totals: dict[str, float]) -> dict[str, float]:
        """Sum per-key totals over the ranks, in rank order (a rank may have seen no sample)."""
        if not self.enabled:
            return totals
        gathered: list[dict[str, float] | None] = [None] * self.world_size
        dist.all_gather_object(gathered, totals)
        summed: dict[str, float] = {}
        for part in gathered:
            for key, value in (part or {}).items():
                summed[key] = summed.get(key, 0.0) + value
        return summed

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def broadcast_from_main(self, value):
        """Rank 0's ``value`` on every rank (a picklable object)."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` in :class:`~torch.nn.parallel.DistributedDataParallel` (itself in one process)."""
        if not self.enabled:
            return model
        device = next(model.parameters()).device
        device_ids = [device.index] if device.type == "cuda" else None
        # Buffers (e.g. the base of an orthogonal parametrization) never change during training:
        # syncing them at every forward pass would only add a collective per step.
        ddp = nn.parallel.DistributedDataParallel
        no_buffer_sync = (
            {"forward_sync_buffers": False}
            if "forward_sync_buffers" in inspect.signature(ddp.__init__).parameters
            else {"broadcast_buffers": False}
        )
        return ddp(model, device_ids=device_ids, **no_buffer_sync)

    def close(self) -> None:
        if self.enabled and dist.is_initialized():
            dist.destroy_process_group()


SINGLE_PROCESS = DistributedContext()


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {text!r}") from None


def init_from_env(device: torch.device | str = "cpu") -> DistributedContext:
    """Join the process group torchrun describes (gloo on CPU, nccl on CUDA); one process if none.

    ``device`` is where the model trains; on CUDA each process takes the GPU ``LOCAL_RANK``.
    """
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return SINGLE_PROCESS
    context = DistributedContext(world_size, _env_int("RANK", 0), _env_int("LOCAL_RANK", 0))
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.set_device(context.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return context
