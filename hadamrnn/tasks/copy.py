"""The copy task (memory over ``T`` steps), generated on the fly.

Tokens: 0 is the blank, 1..8 are the symbols, 9 is the marker. A sequence of total length ``T`` is
the ``K`` symbols, ``T - 2K`` blanks, the marker and ``K - 1`` blanks; its target is ``T - K``
blanks followed by the ``K`` symbols. The naive baseline (predict blanks, then uniformly random
symbols) has cross-entropy ``K ln 8 / T``.

Batch ``i`` of a split is a pure function of ``(seed, split, epoch, i)``: nothing is materialised,
any batch can be regenerated (which is what makes ``--resume`` exact), and the train, validation and
test streams never share a generator.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import HadamRNNError
from ..losses import StepLoss
from .base import Batch

__all__ = ["CopyTask", "BLANK", "MARKER", "NUM_SYMBOLS"]

BLANK = 0
NUM_SYMBOLS = 8
MARKER = NUM_SYMBOLS + 1
_VOCAB = NUM_SYMBOLS + 2
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


class CopyTask:
    """The copy task of the paper, with ``seq_len = T`` counting the whole sequence.

    Args:
        seq_len: total length ``T``.
        copy_length: ``K``, the number of symbols to remember.
        train_size, val_size, test_size: sequences per split.
        seed: the root of every batch's generator.
    """

    name = "copy"
    input_size = _VOCAB
    output_size = NUM_SYMBOLS + 1  # blank and the 8 symbols; the marker is never a target
    many_to_many = True
    vocab_size = None  # the inputs are one-hot floats, not token ids
    step_loss = StepLoss("cross_entropy")  # what loss() computes, which a head may fuse (Task.step_loss)

    def __init__(
        self,
        seq_len: int = 1000,
        copy_length: int = 10,
        train_size: int = 512_000,
        val_size: int = 2_000,
        test_size: int = 2_000,
        seed: int = 712,
    ):
        if copy_length < 1 or seq_len < 2 * copy_length:
            raise HadamRNNError(
                f"the copy task needs copy_length >= 1 and seq_len >= 2 * copy_length, "
                f"got seq_len={seq_len}, copy_length={copy_length}"
            )
        self.seq_len = seq_len
        self.copy_length = copy_length
        self.sizes = {"train": train_size, "val": val_size, "test": test_size}
        self.seed = seed

    @property
    def naive_baseline(self) -> float:
        """Cross-entropy ``K ln 8 / T`` of the best memoryless predictor."""
        return self.copy_length * math.log(NUM_SYMBOLS) / self.seq_len

    def summary(self) -> dict[str, float | int | str]:
        return {
            "task": self.name,
            "seq_len": self.seq_len,
            "copy_length": self.copy_length,
            "naive_baseline": self.naive_baseline,
        }

    def _check_split(self, split: str) -> int:
        if split not in _SPLIT_IDS:
            raise HadamRNNError(f"split must be one of {tuple(_SPLIT_IDS)}, got {split!r}")
        return self.sizes[split]

    def num_batches(self, split: str, batch_size: int) -> int:
        return math.ceil(self._check_split(split) / batch_size)

    def tokens(self, split: str, index: int, batch_size: int, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Input and target token ids, each ``(B, T)`` int64, of batch ``index``."""
        size = self._check_split(split)
        if not 0 <= index < self.num_batches(split, batch_size):
            raise IndexError(f"batch index {index} out of range for {split} split of {size} sequences")
        count = min(batch_size, size - index * batch_size)
        # Validation and test sets are fixed: their batches do not depend on the epoch.
        stream = (self.seed, _SPLIT_IDS[split], epoch if split == "train" else 0, index)
        rng = np.random.default_rng(np.random.SeedSequence(stream))
        k, t = self.copy_length, self.seq_len
        symbols = torch.from_numpy(rng.integers(1, NUM_SYMBOLS + 1, size=(count, k)))
        inputs = torch.full((count, t), BLANK, dtype=torch.int64)
        inputs[:, :k] = symbols
        inputs[:, t - k] = MARKER
        targets = torch.full((count, t), BLANK, dtype=torch.int64)
        targets[:, t - k :] = symbols
        return inputs, targets

    def batch(self, split: str, index: int, batch_size: int, epoch: int = 0) -> Batch:
        """One-hot inputs ``(B, T, 10)`` float32 and target ids ``(B, T)`` of batch ``index``."""
        inputs, targets = self.tokens(split, index, batch_size, epoch)
        return Batch(F.one_hot(inputs, _VOCAB).to(torch.float32), targets)

    def batches(self, split: str, batch_size: int, epoch: int = 0) -> Iterator[Batch]:
        for index in range(self.num_batches(split, batch_size)):
            yield self.batch(split, index, batch_size, epoch)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy averaged over every step of every sequence; ``outputs`` is ``(B, T, 9)``."""
        return self.step_loss(outputs, targets)

    def metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """Cross-entropy (``loss``) and the fraction of recalled symbols that are correct."""
        k = self.copy_length
        recalled = outputs[:, -k:].argmax(dim=-1) == targets[:, -k:]
        return {
            "loss": float(self.loss(outputs, targets)),
            "symbol_accuracy": float(recalled.float().mean()),
            "sequence_accuracy": float(recalled.all(dim=1).float().mean()),
        }
