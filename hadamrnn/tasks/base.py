"""The interface a task offers to the trainer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import torch

from ..losses import StepLoss

__all__ = ["Batch", "Task"]


@dataclass(frozen=True)
class Batch:
    inputs: torch.Tensor
    targets: torch.Tensor


class Task(Protocol):
    """What the trainer needs from a task. Batches are deterministic functions of their index."""

    name: str
    input_size: int | None
    """Features per step of float inputs ``(B, T, input_size)``; None for token tasks."""
    output_size: int
    many_to_many: bool
    vocab_size: int | None
    """Token ids of a token task, whose inputs are ``(B, T)`` int64; None for float inputs."""
    step_loss: StepLoss | None
    """For many-to-many tasks whose :meth:`loss` is a loss over every step: that loss, which
    ``loss(outputs, targets)`` equals ``step_loss(outputs, targets)``, so that the trainer can have
    the head compute it fused with its read-out (:meth:`hadamrnn.heads.SequenceHead.loss`); None
    otherwise. Optional: a task without the attribute is trained on ``loss``."""

    def num_batches(self, split: str, batch_size: int) -> int: ...

    def batch(self, split: str, index: int, batch_size: int, epoch: int = 0) -> Batch: ...

    def batches(self, split: str, batch_size: int, epoch: int = 0) -> Iterator[Batch]: ...

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor: ...

    def metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Metrics of one batch; always includes ``loss``."""
        ...

    def summary(self) -> dict[str, float | int | str]: ...
