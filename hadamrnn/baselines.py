"""Baselines trained with the same harness as HadamRNN: ORNN, QORNN, LSTM and GRU.

Every baseline sits behind the head of :class:`~hadamrnn.models.SequenceClassifier` and
:class:`~hadamrnn.models.SequenceTagger`, :class:`~hadamrnn.heads.SequenceHead` (optional embedding
with dropout, read-out ``o = V · ReLU(h) + c`` with a ``output_bits``-bit ``V``), so the trainer,
``evaluate`` and :func:`~hadamrnn.size.model_size` treat them like HadamRNN. The kinds and the
options each takes are those of :mod:`hadamrnn.kinds`.

* **ORNN** (:class:`OrthogonalRNN` without ``recurrent_bits``): ``h_t = W h_{t-1} + U x_t + b``
  (or its ReLU), with a float ``W`` kept exactly orthogonal by
  :func:`torch.nn.utils.parametrizations.orthogonal`. ``U`` is quantized to ``input_bits`` bits
  when the config asks for it; the baseline configs keep ``U`` and ``V`` in float.
* **QORNN** (:class:`OrthogonalRNN` with ``recurrent_bits=p``): ``W = q_p(Q)``, the p-bit uniform
  quantization (identity STE) of an orthogonal-parametrized latent ``Q``; ``W`` is therefore only
  approximately orthogonal, and its gradient reaches ``Q`` through the STE. ``U`` and ``V`` are
  p-bit too unless the config says otherwise.
* **LSTM** and **GRU** (:class:`GatedRNN`): one float :class:`torch.nn.LSTM` / :class:`torch.nn.GRU`
  layer. The read-out is the shared ``V · ReLU(h) + c``, so that only the recurrent cell differs
  from HadamRNN.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import orthogonal

from .errors import HadamRNNError, ShapeError
from .functional import dense_recurrence
from .heads import SequenceHead
from .kinds import BASELINE_KINDS, check_kind_options, model_kind
from .layers import RECURRENCES, QuantizedLinear
from .quantizers import check_bits, uniform_quantize

__all__ = ["OrthogonalRNN", "GatedRNN", "BaselineClassifier", "BaselineTagger", "BASELINE_KINDS"]


def _check_features(x: torch.Tensor, input_size: int) -> None:
    if not x.is_floating_point() or x.ndim != 3 or x.shape[-1] != input_size:
        raise ShapeError(
            f"x must be a floating-point (B, T, {input_size}) tensor, got dtype {x.dtype} and shape {tuple(x.shape)}"
        )


class OrthogonalRNN(nn.Module):
    """ORNN (float orthogonal ``W``) or, with ``recurrent_bits``, QORNN (p-bit ``W``).

    Shapes:
        ``x``: ``(B, T, input_size)`` batch-first; returns ``(outputs, h_n)``: ``(B, T, n)`` and
        ``(1, B, n)``, like :class:`~hadamrnn.layers.HadamRNN`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        recurrence: str = "linear",
        input_bits: int | None = None,
        recurrent_bits: int | None = None,
    ):
        super().__init__()
        if recurrence not in RECURRENCES:
            raise HadamRNNError(f"recurrence must be one of {RECURRENCES}, got {recurrence!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.recurrence = recurrence
        self.recurrent_bits = None if recurrent_bits is None else check_bits(recurrent_bits, "recurrent_bits")
        self.input_proj = QuantizedLinear(input_size, hidden_size, input_bits)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        # A Haar-random start; the parametrization keeps it as its base and learns a rotation of it.
        nn.init.orthogonal_(self.weight_hh)
        orthogonal(self, "weight_hh")

    @property
    def input_bits(self) -> int | None:
        return self.input_proj.bits

    def recurrent_weight(self) -> torch.Tensor:
        """``W`` as the forward pass uses it: orthogonal for ORNN, ``q_p`` of it for QORNN."""
        latent = self.weight_hh
        if self.recurrent_bits is None:
            return latent
        return uniform_quantize(latent, self.recurrent_bits)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        _check_features(x, self.input_size)
        h = x.new_zeros(x.shape[0], self.hidden_size) if h0 is None else h0.reshape(x.shape[0], self.hidden_size)
        # Computed once per sequence, not per step: the orthogonal map costs a matrix exponential.
        weight = self.recurrent_weight()
        outputs = dense_recurrence(
            x, h, weight, self.input_proj.quantized_weight(), self.input_proj.bias, self.recurrence
        )
        h_n = outputs[:, -1] if outputs.shape[1] else h
        return outputs, h_n.unsqueeze(0)

    def extra_repr(self) -> str:
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, recurrence={self.recurrence!r}, "
            f"input_bits={self.input_bits}, recurrent_bits={self.recurrent_bits}"
        )


class GatedRNN(nn.Module):
    """One float LSTM or GRU layer, batch-first, returning ``(outputs, h_n)`` like HadamRNN."""

    def __init__(self, input_size: int, hidden_size: int, cell: str):
        super().__init__()
        layers = {"lstm": nn.LSTM, "gru": nn.GRU}
        if cell not in layers:
            raise HadamRNNError(f"cell must be one of {tuple(layers)}, got {cell!r}")
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.layer = layers[cell](input_size, hidden_size, batch_first=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _check_features(x, self.input_size)
        outputs, state = self.layer(x)
        h_n = state[0] if self.cell == "lstm" else state
        return outputs, h_n


class _BaselineHead(SequenceHead):
    def __init__(
        self,
        kind: str,
        input_size: int | None,
        hidden_size: int,
        num_classes: int,
        *,
        vocab_size: int | None = None, embedding_dim: int | None = None, embedding_dropout: float = 0.0,
        embedding_init_std: float | None = None,
        recurrence: str = "linear",
        input_bits: int | None = None,
        output_bits: int | None = None,
        recurrent_bits: int | None = None,
    ):
        """A head around the recurrent cell of a baseline.

        Args:
            kind: ``"ornn"``, ``"qornn"`` (:class:`OrthogonalRNN`), ``"lstm"`` or ``"gru"``
                (:class:`GatedRNN`), see :mod:`hadamrnn.kinds`.
            input_size: features of ``x``; None with ``vocab_size``.
            hidden_size: ``n``, any positive size.
            num_classes: outputs of the read-out.
            vocab_size: token ids of the embedding; None for feature inputs (no embedding).
            embedding_dim: size of the learned embedding (required with ``vocab_size``).
            embedding_dropout: dropout on the embedding output during training.
            embedding_init_std: standard deviation of the initial embedding; None keeps
                ``nn.Embedding``'s N(0, 1).
        embedding_init_std: standard deviation of the initial embedding; None keeps
            ``nn.Embedding``'s N(0, 1).
            recurrence: ``"linear"`` or ``"relu"`` (ORNN and QORNN; LSTM and GRU have their gates).
            input_bits: bit-width ``p`` of ``U`` (ORNN and QORNN); None keeps ``U`` in float.
            output_bits: bit-width ``p`` of ``V``; None keeps ``V`` in float.
            recurrent_bits: bit-width ``p`` of ``W``, required by QORNN and taken by no other kind.

        Raises:
            ConfigError: an unknown kind, or an option the kind does not take.
        """
        spec = model_kind(kind, BASELINE_KINDS)
        check_kind_options(kind, {"recurrence": recurrence, "input_bits": input_bits, "recurrent_bits": recurrent_bits})
        cells = {
            "orthogonal": lambda size: OrthogonalRNN(size, hidden_size, recurrence, input_bits, recurrent_bits),
            "gated": lambda size: GatedRNN(size, hidden_size, kind),
        }
        super().__init__(
            cells[spec.cell],
            input_size, hidden_size, num_classes,
            vocab_size=vocab_size, embedding_dim=embedding_dim, embedding_dropout=embedding_dropout,
            embedding_init_std=embedding_init_std, output_bits=output_bits,
        )
        self.kind = kind


class BaselineClassifier(_BaselineHead):
    """Many-to-one baseline: ``o = V · ReLU(h_T) + c``, shapes as :class:`~hadamrnn.models.SequenceClassifier`.

    Example:
        >>> model = BaselineClassifier("lstm", 3, 16, 5)
        >>> model(torch.randn(2, 7, 3)).shape
        torch.Size([2, 5])
    """

    many_to_many = False


class BaselineTagger(_BaselineHead):
    """Many-to-many baseline: ``o_t = V · ReLU(h_t) + c`` at every step, shapes as :class:`~hadamrnn.models.SequenceTagger`."""

    many_to_many = True
