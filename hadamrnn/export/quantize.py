r"""Post-training quantization: calibrate the activation scales, then build the integer model.

Calibration runs the float model on training inputs and records the range of

* the inputs ``x_t`` (for a model with an embedding: the embedding table itself, so that every
  token is representable), and
* the hidden states ``h_t`` of every step of every sequence,

by one of two methods, which the file records:

* ``"max"``: the largest absolute value seen (nothing saturates on calibration data);
* ``"percentile"``: the ``q``-th percentile of the absolute values (outliers saturate), computed
  exactly with :func:`numpy.percentile` (linear interpolation) over at most ``2**20`` values per
  batch, taken with a fixed stride when a batch has more.

Then, with ``X = 2**(b_x-1) - 1`` and ``H = 2**(b_h-1) - 1`` (every scale rounded to float32, the
precision the file stores):

* ``s_x = range_x / X`` and ``s_h = range_h / H``;
* ``U_q, s_U`` and ``V_q, s_V`` are :func:`~hadamrnn.quantizers.quantize_to_int` of ``U`` and ``V``:
  the very codes and steps the float model uses in its forward pass;
* ``b_in = round(b / (s_U s_x))`` and ``c_q = round(c / (s_V s_h))`` (half away from zero);
* ``(M_in, s_in) = rescale_for(s_U s_x sqrt(m) / s_h)``;
* an embedding ``E`` becomes the input codes ``saturate(round(E / s_x), b_x)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core import base_matrix, hadamard_norm, split_order
from ..layers import HadamRNN, QuantizedLinear
from ..models import SequenceTagger
from ..quantizers import quantize_to_int
from . import fixed_point
from .errors import ExportError
from .model_file import CALIBRATION_METHODS, QuantizedModel

__all__ = ["Calibration", "calibrate", "quantize_model", "task_calibration_inputs", "DEFAULT_PERCENTILE"]

DEFAULT_PERCENTILE = 99.99
_MAX_SAMPLES_PER_BATCH = 1 << 20


@dataclass(frozen=True)
class Calibration:
    """Activation ranges measured on calibration data, and how they were measured.

    Attributes:
        input_range: the calibrated ``|x|`` range (``s_x = input_range / X``).
        hidden_range: the calibrated ``|h|`` range (``s_h = hidden_range / H``).
        method: ``"max"`` or ``"percentile"``.
        percentile: the percentile used (100 for ``"max"``).
        sequences: how many sequences were seen.
    """

    input_range: float
    hidden_range: float
    method: str = "max"
    percentile: float = 100.0
    sequences: int = 0

    def __post_init__(self) -> None:
        for name in ("input_range", "hidden_range"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ExportError(f"{name} must be a finite positive number, got {value!r}")
        if self.method not in CALIBRATION_METHODS:
            raise ExportError(f"method must be one of {CALIBRATION_METHODS}, got {self.method!r}")


class _RangeTracker:
    """Streaming ``max |v|``, or a sample of ``|v|`` for a percentile."""

    def __init__(self, name: str, method: str, percentile: float):
        self.name = name
        self.method = method
        self.percentile = percentile
        self.maximum = 0.0
        self.samples: list[np.ndarray] = []

    def update(self, values: torch.Tensor) -> None:
        magnitudes = values.detach().abs().reshape(-1).float()
        if magnitudes.numel() == 0:
            return
        if not bool(torch.isfinite(magnitudes).all()):
            raise ExportError(
                f"calibration expected finite {self.name}, got NaN or inf (the float model diverges on these inputs)"
            )
        self.maximum = max(self.maximum, float(magnitudes.max()))
        if self.method == "percentile":
            stride = max(1, -(-magnitudes.numel() // _MAX_SAMPLES_PER_BATCH))
            self.samples.append(magnitudes[::stride].numpy().copy())

    def result(self) -> float:
        if self.method == "max" or not self.samples:
            value = self.maximum
        else:
            value = float(np.percentile(np.concatenate(self.samples), self.percentile))
        return value if value > 0 else 1.0  # an all-zero signal: any scale represents it


def _parts(model: nn.Module) -> tuple[nn.Embedding | None, HadamRNN, QuantizedLinear]:
    rnn, readout = getattr(model, "rnn", None), getattr(model, "readout", None)
    if not isinstance(rnn, HadamRNN) or not isinstance(readout, QuantizedLinear):
        raise ExportError(
            "expected a SequenceTagger or SequenceClassifier (a HadamRNN `rnn` and a QuantizedLinear "
            f"`readout`), got {type(model).__name__}"
        )
    return getattr(model, "embedding", None), rnn, readout


def task_calibration_inputs(task, batch_size: int, num_batches: int) -> Iterable[torch.Tensor]:
    """The inputs of the first ``num_batches`` training batches of ``task`` (epoch 0)."""
    if num_batches < 1:
        raise ExportError(f"calibration needs at least one batch, got {num_batches}")
    count = min(num_batches, task.num_batches("train", batch_size))
    for index in range(count):
        yield task.batch("train", index, batch_size).inputs


@torch.no_grad()
def calibrate(
    model: nn.Module,
    inputs: Iterable[torch.Tensor],
    *,
    method: str = "max",
    percentile: float = DEFAULT_PERCENTILE,
) -> Calibration:
    """Measure the input and hidden-state ranges of ``model`` on ``inputs`` (see the module docstring).

    Args:
        model: a :class:`~hadamrnn.models.SequenceTagger` or ``SequenceClassifier``.
        inputs: batches ``(B, T, d)`` of float features, or ``(B, T)`` token ids with an embedding.
        method: ``"max"`` or ``"percentile"``.
        percentile: ``q`` in (0, 100] for the percentile method.
    """
    if method not in CALIBRATION_METHODS:
        raise ExportError(f"calibration method must be one of {CALIBRATION_METHODS}, got {method!r}")
    if method == "max":
        percentile = 100.0
    elif not (0 < percentile <= 100):
        raise ExportError(f"percentile must be in (0, 100], got {percentile!r}")
    embedding, rnn, _ = _parts(model)
    was_training = model.training
    model.eval()
    input_tracker = _RangeTracker("inputs", method, percentile)
    hidden_tracker = _RangeTracker("hidden states", method, percentile)
    sequences = 0
    try:
        for batch in inputs:
            features = embedding(batch) if embedding is not None else batch
            if embedding is None:
                input_tracker.update(features)
            hidden, _ = rnn(features)
            hidden_tracker.update(hidden)
            sequences += features.shape[0] if features.ndim == 3 else 1
    finally:
        model.train(was_training)
    if sequences == 0:
        raise ExportError("calibration needs at least one batch of inputs, got none")
    if embedding is not None:
        input_tracker.update(embedding.weight)
    return Calibration(input_tracker.result(), hidden_tracker.result(), method, float(percentile), sequences)


def _float32(value: float) -> float:
    return float(np.float32(value))


def _round_to_int32(name: str, values: np.ndarray) -> np.ndarray:
    rounded = fixed_point.round_half_away(values)
    if rounded.size and np.abs(rounded).max() > fixed_point.INT32_MAX:
        raise ExportError(
            f"{name} does not fit int32 in its fixed-point unit: expected |value| <= {fixed_point.INT32_MAX}, "
            f"got {np.abs(rounded).max():.6g} (the calibrated scales are too small for this bias)"
        )
    return rounded.astype(np.int32)


@torch.no_grad()
def quantize_model(
    model: nn.Module,
    calibration: Calibration,
    *,
    hidden_bits: int = 16,
    input_bits: int = 8,
) -> QuantizedModel:
    """The integer model of ``model`` under ``calibration`` (see the module docstring).

    Args:
        model: a :class:`~hadamrnn.models.SequenceTagger` or ``SequenceClassifier`` with quantized
            ``U`` and ``V`` (``input_bits`` and ``output_bits`` not None, at most 8 bits).
        calibration: from :func:`calibrate`.
        hidden_bits: ``b_h``, 2 to 16.
        input_bits: ``b_x``, 2 to 8.

    Raises:
        ExportError: an unsupported model, bit-width or scale, or a model whose int32 accumulators
            could overflow.
    """
    embedding, rnn, readout = _parts(model)
    if not isinstance(calibration, Calibration):
        raise ExportError(f"calibration must be a Calibration (from calibrate()), got {type(calibration).__name__}")
    for name, value, low, high in (("hidden_bits", hidden_bits, 2, 16), ("input_bits", input_bits, 2, 8)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ExportError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    for name, layer in (("U (rnn.input_proj)", rnn.input_proj), ("V (readout)", readout)):
        if layer.bits is None or layer.bits > 8:
            raise ExportError(
                f"{name} must be quantized to 1..8 bits for the integer runtime, got bits={layer.bits}"
            )

    n, m = rnn.hidden_size, rnn.recurrent.block_size
    base_order = split_order(m, "block_size")[0]
    input_limit = fixed_point.activation_limit(input_bits)
    hidden_limit = fixed_point.activation_limit(hidden_bits)
    input_scale = _float32(calibration.input_range / input_limit)
    hidden_scale = _float32(calibration.hidden_range / hidden_limit)
    if not (input_scale > 0 and hidden_scale > 0):
        raise ExportError(f"calibrated scales underflow float32: s_x={input_scale}, s_h={hidden_scale}")

    input_codes, input_step = quantize_to_int(rnn.input_proj.weight.detach().float(), rnn.input_proj.bits)
    output_codes, output_step = quantize_to_int(readout.weight.detach().float(), readout.bits)
    input_weight_scale, output_weight_scale = float(input_step), float(output_step)  # float32 values

    def bias_of(layer: QuantizedLinear, size: int) -> np.ndarray:
        return np.zeros(size) if layer.bias is None else layer.bias.detach().double().numpy()

    input_bias = _round_to_int32("the input bias b / (s_U s_x)", bias_of(rnn.input_proj, n) / (input_weight_scale * input_scale))
    output_bias = _round_to_int32(
        "the output bias c / (s_V s_h)", bias_of(readout, readout.out_features) / (output_weight_scale * hidden_scale)
    )
    try:
        input_rescale = fixed_point.rescale_for(input_weight_scale * input_scale * hadamard_norm(m) / hidden_scale)
    except ValueError as error:
        raise ExportError(f"the input rescale s_U s_x sqrt(m) / s_h cannot be represented: {error}") from None
    embedding_codes = None
    if embedding is not None:
        embedding_codes = fixed_point.quantize(embedding.weight.detach().double().numpy(), input_scale, input_bits).astype(np.int8)

    quantized = QuantizedModel(
        hidden_size=n,
        block_size=m,
        input_size=rnn.input_size,
        output_size=readout.out_features,
        recurrence=rnn.recurrence,
        many_to_many=isinstance(model, SequenceTagger),
        input_bits=input_bits,
        hidden_bits=hidden_bits,
        input_weight_bits=rnn.input_proj.bits,
        output_weight_bits=readout.bits,
        signs=rnn.signs().detach().numpy().astype(np.int8),
        input_weight=input_codes.numpy().astype(np.int8),
        input_bias=input_bias,
        output_weight=output_codes.numpy().astype(np.int8),
        output_bias=output_bias,
        input_rescale=input_rescale,
        input_scale=input_scale,
        hidden_scale=hidden_scale,
        input_weight_scale=input_weight_scale,
        output_weight_scale=output_weight_scale,
        embedding=embedding_codes,
        calibration_method=calibration.method,
        calibration_percentile=_float32(calibration.percentile),
        calibration_sequences=min(calibration.sequences, 2**32 - 1),
        # the canonical H_r the float model was trained with, written into the file
        base_matrix=base_matrix(base_order, np.int8) if base_order > 1 else None,
    )
    try:
        fixed_point.check_input_term_limit(m, hidden_bits)
    except ValueError as error:
        raise ExportError(str(error)) from None
    return quantized.validate(ExportError)
