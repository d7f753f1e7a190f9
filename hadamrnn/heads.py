"""The task head shared by HadamRNN and every baseline: only the recurrent cell differs.

A head is an optional token embedding (with dropout), a recurrent cell ``rnn`` and the read-out
``o = V · ReLU(h) + c`` with a p-bit ``V`` (:class:`~hadamrnn.layers.QuantizedLinear`). A
classifier reads out the last state, a tagger every state. For a ReLU recurrence ``h`` is already
non-negative, so the same expression gives the vanilla ORNN read-out ``o = V h + c``.

The heads with a HadamRNN cell are :class:`~hadamrnn.models.SequenceClassifier` and
:class:`~hadamrnn.models.SequenceTagger`; the baselines are
:class:`~hadamrnn.baselines.BaselineClassifier` and :class:`~hadamrnn.baselines.BaselineTagger`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from .errors import ShapeError
from .layers import QuantizedLinear, token_embedding
from .losses import StepLoss

__all__ = ["SequenceHead"]


class SequenceHead(nn.Module):
    """Embedding front end, recurrent cell and read-out; a subclass picks the cell and the output.

    The cell is any module called as ``rnn(x)`` on ``(B, T, d)`` floats that returns
    ``(outputs, h_n)`` with ``outputs`` of shape ``(B, T, hidden_size)``, like
    :class:`torch.nn.RNN`. A cell may offer fused paths, which the head then uses:
    ``rnn.last_state(x)`` (``h_T`` alone, for classifiers), ``rnn.readout(x, V, c)``
    (``V · ReLU(h_t) + c`` at every step, for taggers) and ``rnn.readout_loss(x, V, c, targets,
    step_loss)`` (a tagger's loss over every step, for :meth:`loss`), as
    :class:`~hadamrnn.layers.HadamRNN` does.

    Args:
        cell: builds the recurrent cell from the size of its input (``embedding_dim`` with an
            embedding, else ``input_size``).
        input_size: features of ``x``; None with ``vocab_size``.
        hidden_size: ``n``, the size of the cell's state.
        num_classes: outputs of the read-out.
        vocab_size: token ids of the embedding; None for feature inputs (no embedding).
        embedding_dim: size of the learned embedding (required with ``vocab_size``).
        embedding_dropout: dropout on the embedding output during training.
        embedding_init_std: standard deviation of the initial embedding; None keeps
            ``nn.Embedding``'s N(0, 1).
        output_bits: bit-width ``p`` of ``V``; None keeps ``V`` in float.

    Attributes:
        many_to_many: set by each subclass: True reads out every step (a tagger), False only the
            last state (a classifier).
    """

    many_to_many: ClassVar[bool]

    def __init__(
        self,
        cell: Callable[[int], torch.nn.Module],
        input_size: int | None,
        hidden_size: int,
        num_classes: int,
        *,
        vocab_size: int | None = None, embedding_dim: int | None = None, embedding_dropout: float = 0.0,
        embedding_init_std: float | None = None,
        output_bits: int | None = 4,
    ):
        super().__init__()
        # The order of construction is the order the initialisation draws random numbers in, so
        # seeded models stay the same: embedding, then cell, then read-out.
        self.embedding, input_size = token_embedding(input_size, vocab_size, embedding_dim, embedding_init_std)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.rnn = cell(input_size)
        self.readout = QuantizedLinear(hidden_size, num_classes, output_bits)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The recurrence's input: ``x`` itself, or the embeddings of its token ids."""
        if self.embedding is None:
            return x
        if x.is_floating_point():
            raise ShapeError(f"expected integer token ids of shape (B, T), got dtype {x.dtype}")
        return self.embedding_dropout(self.embedding(x))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Every hidden state ``h_t``, ``(B, T, n)``."""
        outputs, _ = self.rnn(self.embed(x))
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        inputs = self.embed(x)
        # A cell's fused paths (HadamRNN's native kernels) never build the (B, T, n) states or
        # their gradients; the plain path below is what they compute.
        if self.many_to_many and hasattr(self.rnn, "readout"):
            return self.rnn.readout(inputs, self.readout.quantized_weight(), self.readout.bias)
        if not self.many_to_many and hasattr(self.rnn, "last_state"):
            return self.readout(torch.relu(self.rnn.last_state(inputs)))
        states, _ = self.rnn(inputs)
        return self.readout(torch.relu(states if self.many_to_many else states[..., -1, :]))

    def loss(self, x: torch.Tensor, targets: torch.Tensor, step_loss: StepLoss) -> torch.Tensor:
        """``step_loss(self(x), targets)``: the loss of a batch, for training.

        A tagger whose cell offers ``readout_loss`` (:class:`~hadamrnn.layers.HadamRNN`) computes
        it fused with the read-out, without the ``(B, T, k)`` logits: on the native backend the
        kernel scores each step from the logits it holds (:meth:`hadamrnn.layers.HadamRNN.readout_loss`).
        The logits themselves, for evaluation and inference, come from calling the head.

        Shapes:
            ``x``: as in the forward; ``targets``: ``(B, T)`` class ids, or ``(B, T, k)`` for
            binary cross-entropy (see :class:`~hadamrnn.losses.StepLoss`). Returns a 0-d tensor.
        """
        if self.many_to_many and hasattr(self.rnn, "readout_loss"):
            return self.rnn.readout_loss(
                self.embed(x), self.readout.quantized_weight(), self.readout.bias, targets, step_loss
            )
        return step_loss(self(x), targets)
