"""Task heads around :class:`~hadamrnn.layers.HadamRNN`.

Both heads read out ``o = V · ReLU(h) + c`` with a p-bit ``V``. For the ReLU recurrence ``h`` is
already non-negative, so the same expression gives the vanilla ORNN read-out ``o = V h + c``.
"""

from __future__ import annotations

import torch
from torch import nn

from .baselines import BaselineClassifier, BaselineTagger
from .errors import ConfigError, ShapeError
from .layers import HadamRNN, QuantizedLinear, token_embedding

__all__ = ["SequenceClassifier", "SequenceTagger", "build_model"]


class _HadamRNNHead(nn.Module):
    def __init__(
        self,
        input_size: int | None,
        hidden_size: int,
        output_size: int,
        *,
        vocab_size: int | None = None,
        embedding_dim: int | None = None,
        embedding_dropout: float = 0.0,
        block_size: int | None = None,
        recurrence: str = "linear",
        input_bits: int | None = 4,
        output_bits: int | None = 4,
        backend: str = "auto",
        sign_clip: float | None = None,
    ):
        super().__init__()
        self.embedding, input_size = token_embedding(input_size, vocab_size, embedding_dim)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.rnn = HadamRNN(
            input_size,
            hidden_size,
            block_size=block_size,
            recurrence=recurrence,
            input_bits=input_bits,
            backend=backend,
            sign_clip=sign_clip,
        )
        self.readout = QuantizedLinear(hidden_size, output_size, output_bits)

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


class SequenceClassifier(_HadamRNNHead):
    """Many-to-one: ``o = V · ReLU(h_T) + c``.

    Shapes:
        ``x``: ``(B, T, input_size)`` floats, or ``(B, T)`` token ids with ``vocab_size``.
        returns ``(B, num_classes)``.
    """

    def __init__(self, input_size: int | None, hidden_size: int, num_classes: int, **kwargs):
        super().__init__(input_size, hidden_size, num_classes, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(torch.relu(self.rnn.last_state(self.embed(x))))


class SequenceTagger(_HadamRNNHead):
    """Many-to-many: ``o_t = V · ReLU(h_t) + c`` at every step (the copy task).

    Shapes:
        ``x``: ``(B, T, input_size)`` floats, or ``(B, T)`` token ids with ``vocab_size``.
        returns ``(B, T, num_classes)``.
    """

    def __init__(self, input_size: int | None, hidden_size: int, num_classes: int, **kwargs):
        super().__init__(input_size, hidden_size, num_classes, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # HadamRNN.readout fuses V·ReLU(h_t) + c into the native kernel.
        return self.rnn.readout(self.embed(x), self.readout.quantized_weight(), self.readout.bias)


def build_model(config, task) -> nn.Module:
    """The head that fits ``task`` (tagger for many-to-many, classifier otherwise), per ``config``.

    ``config.kind`` picks HadamRNN or a baseline of :mod:`hadamrnn.baselines`; tasks with token
    inputs expose ``vocab_size`` and get an embedding of ``config.embedding_dim``.
    """
    vocab_size = getattr(task, "vocab_size", None)
    if vocab_size is None and config.embedding_dropout:
        raise ConfigError(
            f"model.embedding_dropout applies to token tasks only; task {task.name!r} has no vocabulary, "
            f"got embedding_dropout={config.embedding_dropout}"
        )
    if vocab_size is not None and config.embedding_dim is None:
        raise ConfigError(f"task {task.name!r} reads token ids: model.embedding_dim is required, got None")
    common = {
        "vocab_size": vocab_size,
        "embedding_dim": config.embedding_dim if vocab_size is not None else None,
        "embedding_dropout": config.embedding_dropout,
        "recurrence": config.recurrence,
        "input_bits": config.input_bits,
        "output_bits": config.output_bits,
    }
    input_size = None if vocab_size is not None else task.input_size
    if config.kind != "hadamrnn":
        head = BaselineTagger if task.many_to_many else BaselineClassifier
        return head(
            config.kind, input_size, config.hidden_size, task.output_size, recurrent_bits=config.recurrent_bits, **common
        )
    head = SequenceTagger if task.many_to_many else SequenceClassifier
    return head(
        input_size,
        config.hidden_size,
        task.output_size,
        block_size=config.block_size,
        backend=config.backend,
        sign_clip=config.sign_clip,
        **common,
    )
