r"""The integer model simulated in PyTorch, bit for bit.

:class:`IntegerSimulation` runs a :class:`~hadamrnn.export.model_file.QuantizedModel` with int64
torch tensors: the FWHT as the integer butterflies (and base product) of
:func:`hadamrnn.core.transform.fwht_int` (the very function of the numpy runtime), the sign flips, the rescales, rounding and saturation of
:mod:`hadamrnn.export.fixed_point` (the same functions, applied to tensors). No float enters the
step; floats appear only at the edges, to quantize float inputs (with the numpy rule the runtimes
share) and to turn integer logits into real ones. It therefore returns exactly
what :mod:`hadamrnn.runtime` and the generated C return, and can stand in for the float model to
measure the accuracy of the deployed one::

    calibration = calibrate(model, task_calibration_inputs(task, 128, 8))
    simulation = IntegerSimulation.from_model(model, calibration, hidden_bits=16)
    logits = simulation(batch.inputs)           # like model(batch.inputs), through integers
    metrics = task.metrics(logits, batch.targets)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..core import fwht_int
from ..errors import ShapeError
from . import fixed_point
from .errors import ExportError
from .model_file import QuantizedModel
from .quantize import Calibration, quantize_model

__all__ = ["IntegerSimulation", "IntegerRun", "fwht_int_torch"]


@dataclass(frozen=True)
class IntegerRun:
    """Integer results: ``outputs`` ``(B, T, o)`` (tagger) or ``(B, o)`` (classifier) and the final
    hidden codes ``state`` ``(B, n)``, both int64 tensors."""

    outputs: torch.Tensor
    state: torch.Tensor


# The butterflies of the core run on int64 tensors as they are (on any device): the simulation and
# the numpy runtime share one integer FWHT. The name stays for callers of the simulation module.
fwht_int_torch = fwht_int


class IntegerSimulation(nn.Module):
    """Simulate the integer runtime of ``quantized`` with integer torch tensors.

    Calling it on float features ``(B, T, d)`` (or token ids ``(B, T)`` with an embedding) returns
    real logits shaped like the float model's output; :meth:`run` returns the integer results.
    """

    def __init__(self, quantized: QuantizedModel):
        super().__init__()
        if not isinstance(quantized, QuantizedModel):
            raise ExportError(f"IntegerSimulation needs a QuantizedModel, got {type(quantized).__name__}")
        self.quantized = quantized.validate(ExportError)

        def buffer(name: str, array) -> None:
            self.register_buffer(name, torch.from_numpy(array.astype("int64")), persistent=False)

        buffer("signs", quantized.signs)
        buffer("input_weight", quantized.input_weight)
        buffer("input_bias", quantized.input_bias)
        buffer("output_weight", quantized.output_weight)
        buffer("output_bias", quantized.output_bias)
        self.has_embedding = quantized.embedding is not None
        if self.has_embedding:
            buffer("embedding_codes", quantized.embedding)

    @classmethod
    def from_model(
        cls, model: nn.Module, calibration: Calibration, *, hidden_bits: int = 16, input_bits: int = 8
    ) -> IntegerSimulation:
        """Quantize ``model`` under ``calibration`` (:func:`quantize_model`) and simulate it."""
        return cls(quantize_model(model, calibration, hidden_bits=hidden_bits, input_bits=input_bits))

    # ------------------------------------------------------------------ edges

    def quantize_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Float features to input codes, with the rule of :func:`fixed_point.quantize` (numpy)."""
        if self.has_embedding:
            raise ShapeError("this model has an embedding: it takes token ids, not float features")
        q = self.quantized
        codes = fixed_point.quantize(x.detach().cpu().double().numpy(), q.input_scale, q.input_bits)
        return torch.from_numpy(codes).to(self.signs.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Real logits (float32) of float features ``(B, T, d)`` or token ids ``(B, T)``."""
        inputs = x if self.has_embedding else self.quantize_inputs(x)
        outputs = self.run(inputs).outputs
        return (outputs.double() * self.quantized.output_scale).float()

    # ------------------------------------------------------------------ the integer model

    def run(self, inputs: Any) -> IntegerRun:
        """Integer results of integer input codes ``(B, T, d)`` or token ids ``(B, T)``."""
        q = self.quantized
        codes = self._input_codes(torch.as_tensor(inputs, device=self.signs.device))  # (B, T, d) int64
        batch, steps = codes.shape[0], codes.shape[1]
        recurrent_rescale = q.recurrent_rescale
        limit = q.input_term_limit
        # U x_t + b_in for all steps, then z in units of s_h / sqrt(m).
        projection = codes @ self.input_weight.T + self.input_bias
        input_terms = fixed_point.rescale(projection, q.input_rescale.multiplier, q.input_rescale.shift).clip(-limit, limit)
        state = torch.zeros(batch, q.hidden_size, dtype=torch.int64, device=codes.device)
        outputs = []
        for t in range(steps):
            recurrent = fwht_int(state, q.block_size, base=q.base_matrix) * self.signs
            state = fixed_point.saturate(
                fixed_point.rescale(recurrent + input_terms[:, t], recurrent_rescale.multiplier, recurrent_rescale.shift),
                q.hidden_bits,
            )
            if q.recurrence == "relu":
                state = state.clamp(min=0)
            if q.many_to_many:
                outputs.append(self._readout(state))
        if q.many_to_many:
            logits = torch.stack(outputs, dim=1) if outputs else codes.new_zeros(batch, 0, q.output_size)
        else:
            if steps == 0:
                raise ShapeError("a classifier reads out the last step: sequences must have at least one step, got 0")
            logits = self._readout(state)
        return IntegerRun(logits, state)

    def _readout(self, state: torch.Tensor) -> torch.Tensor:
        return state.clamp(min=0) @ self.output_weight.T + self.output_bias

    def _input_codes(self, inputs: torch.Tensor) -> torch.Tensor:
        q = self.quantized
        if inputs.is_floating_point() or inputs.is_complex():
            raise ShapeError(
                f"run() takes integer codes or token ids, got dtype {inputs.dtype} (call the simulation on floats)"
            )
        if self.has_embedding:
            if inputs.ndim != 2:
                raise ShapeError(f"token ids must have shape (B, T), got {tuple(inputs.shape)}")
            vocab = q.vocab_size
            if inputs.numel() and (int(inputs.min()) < 0 or int(inputs.max()) >= vocab):
                bad = int(inputs.min()) if int(inputs.min()) < 0 else int(inputs.max())
                raise ShapeError(f"token ids must be in [0, {vocab}), got {bad}")
            return self.embedding_codes[inputs.long()]
        if inputs.ndim != 3 or inputs.shape[-1] != q.input_size:
            raise ShapeError(f"input codes must have shape (B, T, {q.input_size}), got {tuple(inputs.shape)}")
        return fixed_point.saturate(inputs.long(), q.input_bits)

    def extra_repr(self) -> str:
        q = self.quantized
        return (
            f"n={q.hidden_size}, block_size={q.block_size}, d={q.input_size}, o={q.output_size}, "
            f"recurrence={q.recurrence!r}, b_x={q.input_bits}, b_h={q.hidden_bits}, "
            f"p_U={q.input_weight_bits}, p_V={q.output_weight_bits}"
        )
