r"""Losses over every step of a many-to-many head, which the native kernels can fuse into the read-out.

A :class:`StepLoss` describes the loss of a tagger's logits ``o`` ``(B, T, k)`` against its targets:

* ``"cross_entropy"``: integer class ids ``(B, T)``, the step loss
  :math:`\ell_t = \log\sum_j e^{o_{tj}} - o_{t y_t}`, steps whose target is ``ignore_index`` left out;
* ``"binary_cross_entropy"`` (with logits): real targets ``(B, T, k)`` in ``[0, 1]``, the loss
  :math:`\sum_j \max(o_{tj}, 0) - o_{tj} y_{tj} + \log(1 + e^{-|o_{tj}|})` of each step;

reduced by ``"mean"`` (over the counted steps for cross-entropy, over every element for BCE, as
:func:`torch.nn.functional.cross_entropy` and
:func:`~torch.nn.functional.binary_cross_entropy_with_logits` do) or ``"sum"``. Calling it on
logits is the pure-torch reference; :meth:`hadamrnn.layers.HadamRNN.readout_loss` computes the
same number inside the recurrence kernel, from the logits it holds, without a ``(B, T, k)`` tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F

from .errors import HadamRNNError, ShapeError

__all__ = ["StepLoss", "STEP_LOSS_KINDS", "REDUCTIONS"]

STEP_LOSS_KINDS = ("cross_entropy", "binary_cross_entropy")
REDUCTIONS = ("mean", "sum")


@dataclass(frozen=True)
class StepLoss:
    """A loss over every step of ``(B, T, k)`` logits; calling it computes it in pure torch.

    Args:
        kind: ``"cross_entropy"`` (integer targets ``(B, T)``) or ``"binary_cross_entropy"``
            (BCE with logits, real targets ``(B, T, k)`` of the logits' dtype).
        ignore_index: cross-entropy only: the target id of steps that are not scored; None scores
            every step.
        reduction: ``"mean"`` or ``"sum"``.

    Example:
        >>> loss = StepLoss("cross_entropy")
        >>> float(loss(torch.zeros(1, 2, 4), torch.tensor([[0, 3]])))  # log 4
        1.3862943649291992
    """

    kind: str = "cross_entropy"
    ignore_index: int | None = None
    reduction: str = "mean"

    def __post_init__(self):
        if self.kind not in STEP_LOSS_KINDS:
            raise HadamRNNError(f"StepLoss kind must be one of {STEP_LOSS_KINDS}, got {self.kind!r}")
        if self.reduction not in REDUCTIONS:
            raise HadamRNNError(f"StepLoss reduction must be one of {REDUCTIONS}, got {self.reduction!r}")
        if self.ignore_index is not None:
            if isinstance(self.ignore_index, bool) or not isinstance(self.ignore_index, int):
                raise HadamRNNError(f"StepLoss ignore_index must be an integer or None, got {self.ignore_index!r}")
            if self.kind != "cross_entropy":
                raise HadamRNNError(f"StepLoss ignore_index goes with kind='cross_entropy', got kind={self.kind!r}")

    def check_targets(self, targets: torch.Tensor, batch: int, steps: int, classes: int, dtype: torch.dtype) -> None:
        """Raise :class:`~hadamrnn.errors.ShapeError` unless ``targets`` fit logits ``(batch, steps, classes)``
        of ``dtype``: their type, shape, dtype and (cross-entropy) class ids."""
        if not isinstance(targets, torch.Tensor):
            raise ShapeError(f"targets must be a torch.Tensor, got {type(targets).__name__}")
        if self.kind == "cross_entropy":
            if tuple(targets.shape) != (batch, steps):
                raise ShapeError(f"cross-entropy targets must have shape (B={batch}, T={steps}), got {tuple(targets.shape)}")
            if targets.dtype != torch.int64:
                raise ShapeError(f"cross-entropy targets must be int64 class ids, got dtype {targets.dtype}")
            if targets.numel() == 0:
                return
            scored = targets if self.ignore_index is None else targets[targets != self.ignore_index]
            if scored.numel() and not (int(scored.min()) >= 0 and int(scored.max()) < classes):
                ignored = "" if self.ignore_index is None else f" or the ignore_index {self.ignore_index}"
                raise ShapeError(
                    f"cross-entropy targets must be class ids in [0, {classes}){ignored}, "
                    f"got values from {int(scored.min())} to {int(scored.max())}"
                )
            return
        if tuple(targets.shape) != (batch, steps, classes):
            raise ShapeError(
                f"binary cross-entropy targets must have shape (B={batch}, T={steps}, k={classes}), got {tuple(targets.shape)}"
            )
        if targets.dtype != dtype:
            raise ShapeError(f"binary cross-entropy targets must have the logits' dtype {dtype}, got {targets.dtype}")

    def count(self, targets: torch.Tensor, classes: int) -> int:
        """The number of terms that ``"mean"`` divides by: the scored steps (cross-entropy) or
        every element (BCE)."""
        if self.kind == "binary_cross_entropy":
            return targets.numel()
        if self.ignore_index is None:
            return targets.numel()
        return int((targets != self.ignore_index).sum())

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The loss of ``logits`` ``(..., k)`` against ``targets`` (``(...)`` ids, or ``(..., k)``),
        by :func:`torch.nn.functional.cross_entropy` or
        :func:`~torch.nn.functional.binary_cross_entropy_with_logits`."""
        if self.kind == "binary_cross_entropy":
            return F.binary_cross_entropy_with_logits(logits, targets, reduction=self.reduction)
        ignore = {} if self.ignore_index is None else {"ignore_index": self.ignore_index}
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=self.reduction, **ignore)
