r"""The numpy-only integer runtime of ``.hrnn`` models (no torch import).

    >>> from hadamrnn.runtime import load          # doctest: +SKIP
    >>> runtime = load("copy.hrnn")                # validates the whole file first
    >>> codes = runtime.quantize_inputs(x)         # float (B, T, d) -> int codes, outside the step
    >>> result = runtime.run(codes)                # integer logits and the final hidden codes
    >>> logits = runtime.dequantize(result.outputs)

Every step is integer arithmetic, exactly the step written in :mod:`hadamrnn.export.fixed_point`::

    a    = u ⊙ FWHT_m(h_q)             # butterflies (and the r × r base product): no multiplications
    z    = clip(rescale(U_q x_q + b_in, M_in, s_in), -Z, Z)
    h_q' = saturate(rescale(a + z, M_rec, s_rec), b_h)   [then max(·, 0) for the ReLU recurrence]
    y    = V_q max(h_q', 0) + c_q

:class:`Runtime` is the fast path (vectorised over the batch, int64 numpy arrays whose values the
accumulator bounds keep inside int32). :func:`reference_run` is the slow, readable reference beside
it: the dense integer matrix ``diag(u) (I_q ⊗ H_m)`` and unbounded Python integers, without the clip
of ``z``. The tests demand that both agree bit for bit with each other, with the torch
:class:`~hadamrnn.export.IntegerSimulation` and with the generated C.

Inputs are integer codes of shape ``(B, T, d)`` (or ``(T, d)``), saturated to the ``b_x``-bit range
on entry; models with an embedding take token ids of shape ``(B, T)`` (or ``(T,)``) instead.
Outputs are the integer logits ``y``: ``(B, T, o)`` for a tagger (a read-out at every step),
``(B, o)`` for a classifier (the last step), in units of ``output_scale = s_V s_h``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .core import fwht_int, signed_block_hadamard
from .errors import ShapeError
from .export import fixed_point
from .export.errors import ModelFileError
from .export.model_file import QuantizedModel, read_model

__all__ = ["Runtime", "RunResult", "load", "reference_run", "fwht_int", "ModelFileError"]


@dataclass(frozen=True)
class RunResult:
    """Integer results of a run.

    Attributes:
        outputs: int64 logits ``y``, ``(B, T, o)`` (tagger) or ``(B, o)`` (classifier); without the
            batch axis for unbatched inputs.
        state: int64 hidden codes ``h_q`` after the last step, ``(B, n)`` or ``(n,)``.
    """

    outputs: np.ndarray
    state: np.ndarray


class Runtime:
    """Run a :class:`~hadamrnn.export.model_file.QuantizedModel` with integer numpy arithmetic."""

    def __init__(self, model: QuantizedModel):
        if not isinstance(model, QuantizedModel):
            raise ShapeError(f"Runtime needs a QuantizedModel, got {type(model).__name__}")
        self.model = model.validate(ModelFileError)
        # The weight codes stay in their int8 arrays (the model's own): int64 copies would take 8
        # times their memory, and up to 64 times the file's. Products widen them chunk by chunk
        # (_widening_matmul); vectors of length n or o are kept in int64.
        self._signs = model.signs.astype(np.int64)
        self._input_bias = model.input_bias.astype(np.int64)
        self._output_bias = model.output_bias.astype(np.int64)
        self._embedding = model.embedding
        self._input_rescale = model.input_rescale
        self._recurrent_rescale = model.recurrent_rescale
        self._input_term_limit = model.input_term_limit

    @classmethod
    def load(cls, path: str | Path) -> Runtime:
        """Load and validate a ``.hrnn`` file."""
        return cls(read_model(path))

    @classmethod
    def from_bytes(cls, data: bytes) -> Runtime:
        return cls(QuantizedModel.from_bytes(data))

    # ------------------------------------------------------------------ edges (float <-> int)

    def quantize_inputs(self, x: Any) -> np.ndarray:
        """Float features ``(..., d)`` to ``b_x``-bit input codes (int64), outside the step."""
        if self._embedding is not None:
            raise ShapeError("this model has an embedding: it takes token ids, not float features")
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.model.input_size:
            raise ShapeError(f"x must have shape (..., {self.model.input_size}), got {x.shape}")
        return fixed_point.quantize(x, self.model.input_scale, self.model.input_bits)

    def dequantize(self, outputs: np.ndarray) -> np.ndarray:
        """Integer logits to real logits: ``output_scale * y`` (float64)."""
        return np.asarray(outputs, dtype=np.float64) * self.model.output_scale

    def predict(self, x: Any) -> np.ndarray:
        """Float features (or token ids) in, real logits out: quantize, run, dequantize."""
        inputs = x if self._embedding is not None else self.quantize_inputs(x)
        return self.dequantize(self.run(inputs).outputs)

    # ------------------------------------------------------------------ the integer model

    def initial_state(self, batch: int) -> np.ndarray:
        """``h_0 = 0``: int64 zeros of shape ``(batch, n)``."""
        return np.zeros((batch, self.model.hidden_size), dtype=np.int64)

    def step(self, inputs: Any, state: Any) -> tuple[np.ndarray, np.ndarray]:
        """One step for a batch: ``inputs`` ``(B, d)`` codes or ``(B,)`` token ids, ``state``
        ``(B, n)`` hidden codes. Returns ``(new_state, logits)`` with logits ``(B, o)``."""
        codes = self._input_codes(inputs, time_axis=False)
        state = self._check_state(state, codes.shape[0])
        projection = _widening_matmul(codes, self.model.input_weight) + self._input_bias
        state = self._recurrent_update(state, self._input_term(projection))
        return state, self._readout(state)

    def run(self, inputs: Any, state: Any = None) -> RunResult:
        """Run whole sequences: ``(B, T, d)`` codes (``(B, T)`` token ids), or unbatched ``(T, d)``
        (``(T,)``). ``state`` defaults to zeros. See :class:`RunResult` for the shapes."""
        array = np.asarray(inputs)
        batched = array.ndim == (2 if self._embedding is not None else 3)
        if not batched:
            array = array[None]
        codes = self._input_codes(array, time_axis=True)  # (B, T, d)
        batch, steps = codes.shape[0], codes.shape[1]
        state = self.initial_state(batch) if state is None else self._check_state(
            state if batched else np.asarray(state)[None], batch
        )
        # U x_t + b for every step at once: it does not depend on the state.
        input_terms = self._input_term(_widening_matmul(codes, self.model.input_weight) + self._input_bias)
        outputs = []
        for t in range(steps):
            state = self._recurrent_update(state, input_terms[:, t])
            if self.model.many_to_many:
                outputs.append(self._readout(state))
        if self.model.many_to_many:
            logits = np.stack(outputs, axis=1) if outputs else np.zeros((batch, 0, self.model.output_size), np.int64)
        else:
            if steps == 0:
                raise ShapeError("a classifier reads out the last step: sequences must have at least one step, got 0")
            logits = self._readout(state)
        if not batched:
            return RunResult(logits[0], state[0])
        return RunResult(logits, state)

    def _input_term(self, projection: np.ndarray) -> np.ndarray:
        """``z = clip(rescale(U x + b_in), -Z, Z)`` in units of ``s_h / sqrt(m)``."""
        limit = self._input_term_limit
        return self._input_rescale.apply(projection).clip(-limit, limit)

    def _recurrent_update(self, state: np.ndarray, input_term: np.ndarray) -> np.ndarray:
        # u ⊙ FWHT_m(h), with the file's own base matrix for m = r · 2^j, r > 1
        recurrent = fwht_int(state, self.model.block_size, base=self.model.base_matrix) * self._signs
        new_state = fixed_point.saturate(self._recurrent_rescale.apply(recurrent + input_term), self.model.hidden_bits)
        if self.model.recurrence == "relu":
            new_state = np.maximum(new_state, 0)
        return new_state

    def _readout(self, state: np.ndarray) -> np.ndarray:
        return _widening_matmul(np.maximum(state, 0), self.model.output_weight) + self._output_bias

    # ------------------------------------------------------------------ input checks

    def _input_codes(self, inputs: Any, time_axis: bool) -> np.ndarray:
        """Saturated int64 input codes ``(B, [T,] d)`` from codes or token ids."""
        array = np.asarray(inputs)
        lead = "(B, T" if time_axis else "(B"
        if array.dtype.kind not in "iu":
            what = "token ids" if self._embedding is not None else "input codes"
            raise ShapeError(
                f"expected integer {what}, got dtype {array.dtype} "
                "(float features go through quantize_inputs() or predict() first)"
            )
        if self._embedding is not None:
            if array.ndim != (2 if time_axis else 1):
                raise ShapeError(f"token ids must have shape {lead}), got {array.shape}")
            vocab = self._embedding.shape[0]
            bad = (array < 0) | (array >= vocab)
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ShapeError(f"token ids must be in [0, {vocab}), got {array[first]} at index {first}")
            return self._embedding[array].astype(np.int64)
        d = self.model.input_size
        if array.ndim != (3 if time_axis else 2) or array.shape[-1] != d:
            raise ShapeError(f"input codes must have shape {lead}, {d}), got {array.shape}")
        # Saturated before the cast to int64, in the array's own dtype: a uint64 code >= 2**63
        # would otherwise wrap to a negative one.
        limit = fixed_point.activation_limit(self.model.input_bits)
        if array.dtype.kind == "u":
            return np.minimum(array, limit).astype(np.int64)
        return fixed_point.saturate(array.astype(np.int64), self.model.input_bits)

    def _check_state(self, state: Any, batch: int) -> np.ndarray:
        state = np.asarray(state)
        n = self.model.hidden_size
        if state.shape != (batch, n) or state.dtype.kind not in "iu":
            raise ShapeError(f"state must be integer codes of shape ({batch}, {n}), got {state.dtype} {state.shape}")
        limit = fixed_point.activation_limit(self.model.hidden_bits)
        # min and max compared as Python integers: abs() of INT64_MIN is INT64_MIN again, and a
        # uint64 code >= 2**63 wraps when cast to int64; neither may slip through.
        if state.size:
            low, high = int(state.min()), int(state.max())
            if low < -limit or high > limit:
                raise ShapeError(
                    f"state codes must lie in [-{limit}, {limit}] (b_h = {self.model.hidden_bits}), "
                    f"got {low if low < -limit else high}"
                )
        if self.model.recurrence == "relu" and state.size and state.min() < 0:
            raise ShapeError(f"a ReLU recurrence has non-negative states, got {int(state.min())}")
        return state.astype(np.int64)


#: Entries of a weight matrix widened to int64 at a time by :func:`_widening_matmul` (8 MiB).
_WIDENING_CHUNK = 1 << 20


def _widening_matmul(left: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``left @ codes.T`` in int64, for int64 ``left`` ``(..., k)`` and small-integer ``codes``
    ``(r, k)``: exact (the accumulator bounds keep every sum inside int32), with ``codes`` widened
    a block of rows at a time so that no int64 copy of the whole matrix exists."""
    rows = codes.shape[0]
    block = max(1, _WIDENING_CHUNK // max(1, codes.shape[1]))
    if block >= rows:
        return left @ codes.astype(np.int64).T
    out = np.empty((*left.shape[:-1], rows), dtype=np.int64)
    for start in range(0, rows, block):
        out[..., start : start + block] = left @ codes[start : start + block].astype(np.int64).T
    return out


def load(path: str | Path) -> Runtime:
    """Load and validate a ``.hrnn`` file into a :class:`Runtime`."""
    return Runtime.load(path)


def reference_run(model: QuantizedModel, inputs: Any) -> RunResult:
    """The slow, readable reference of :meth:`Runtime.run` (batched inputs only).

    ``W`` is the dense integer matrix ``sqrt(m) W = diag(u) (I_q ⊗ H_m)``, every quantity is an
    unbounded Python integer (numpy object arrays) and ``z`` is not clipped, so agreement with the
    fast path also checks the accumulator bounds and the claim that the clip changes nothing.
    """
    runtime = Runtime(model)  # only for its input checks
    codes = runtime._input_codes(np.asarray(inputs), time_axis=True).astype(object)
    dense_w = signed_block_hadamard(model.signs, model.block_size, dtype=object, base=model.base_matrix)
    input_weight = model.input_weight.astype(object)
    output_weight = model.output_weight.astype(object)
    input_bias = model.input_bias.astype(object)
    output_bias = model.output_bias.astype(object)
    batch, steps = codes.shape[0], codes.shape[1]
    state = np.zeros((batch, model.hidden_size), dtype=np.int64).astype(object)
    outputs = []
    for t in range(steps):
        recurrent = state @ dense_w.T
        input_term = fixed_point.rescale(codes[:, t] @ input_weight.T + input_bias, *_pair(model.input_rescale))
        state = fixed_point.saturate(
            fixed_point.rescale(recurrent + input_term, *_pair(model.recurrent_rescale)), model.hidden_bits
        )
        if model.recurrence == "relu":
            state = np.maximum(state, 0)
        outputs.append(np.maximum(state, 0) @ output_weight.T + output_bias)
    logits = np.stack(outputs, axis=1) if model.many_to_many else outputs[-1]
    return RunResult(logits.astype(np.int64), state.astype(np.int64))


def _pair(rescale: fixed_point.Rescale) -> tuple[int, int]:
    return rescale.multiplier, rescale.shift
