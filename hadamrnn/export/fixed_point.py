r"""The fixed-point convention of the integer runtimes, written once.

Every integer runtime of hadamrnn (the torch :class:`~hadamrnn.export.IntegerSimulation`, the numpy
:mod:`hadamrnn.runtime` and the generated C) implements exactly the three operations below, and
nothing else touches a scale. This module is numpy-only.

Rounding (the only rule)
------------------------
**Round half away from zero**, on the magnitude: for an integer ``v`` and a shift ``s >= 0``::

    round_shift(v, s) = sign(v) * ((|v| + 2**(s-1)) >> s)        (s >= 1)
    round_shift(v, 0) = v

It is odd (``round_shift(-v, s) = -round_shift(v, s)``), so the integer linear recurrence keeps the
sign symmetry of the float one and has no rounding bias to accumulate over thousands of steps; and
it only ever shifts non-negative numbers, which C99 defines (a right shift of a negative value is
implementation-defined there). Float-to-integer conversions at export time and the quantization of
float inputs use the same rule (:func:`round_half_away`).

Rescale
-------
A real factor ``r > 0`` is the pair ``(M, s)`` with ``1 <= M < 2**31`` and ``0 <= s <= 62``:
``rescale(v, M, s) = round_shift(v * M, s)``. The product is formed in **64 bits**: ``|v| < 2**31``
and ``M < 2**31`` give ``|v * M| < 2**62``, which int32 cannot hold. This product is the only 64-bit
arithmetic of the step. When ``r`` is an exact power of two ``2**-s`` the pair is ``(1, s)`` and the
rescale is a plain rounding shift (the generated C then has no multiplication at all).

Saturation
----------
Activations (input codes and hidden-state codes) live in the **symmetric** ``b``-bit range
``[-(2**(b-1) - 1), 2**(b-1) - 1]`` (for example ±127 or ±32767). Leaving out ``-2**(b-1)`` keeps
saturation odd, like the rounding. Weight codes ``U`` and ``V`` keep the full two's-complement range
``[-2**(p-1), 2**(p-1) - 1]`` of :func:`hadamrnn.quantizers.quantize_to_int`.

The integer step
----------------
With ``H = 2**(b_h-1) - 1``, ``X = 2**(b_x-1) - 1``, block size ``m`` and the units

* ``h_q``: the hidden state in units of ``s_h`` (``h ≈ s_h h_q``),
* the recurrent accumulator in units of ``s_h / sqrt(m)``, the natural unit of ``S_m h_q``,

one step is::

    x_q   = saturate(x_codes, b_x)                                  # input codes, |x_q| <= X
    a     = u ⊙ FWHT_m(h_q)                                          # exact, |a| <= m H
    z     = clip(rescale(U_q x_q + b_in, M_in, s_in), -Z, Z)         # U x + b in units s_h/sqrt(m)
    h_q'  = saturate(rescale(a + z, M_rec, s_rec), b_h)             # the single per-step rescale
    h_q'  = max(h_q', 0)                                             # recurrence = "relu" only
    y     = V_q max(h_q', 0) + c_q                                   # logits in units s_V s_h

``(M_rec, s_rec)`` represents ``1/sqrt(m)`` (:func:`hadamrnn.core.scale.hadamard_scale_fixed_point`):
it is ``(1, e)``, an exact shift, when ``m = 4**e`` is a power of four, and otherwise (``m = 2**k``
with ``k`` odd, or any order ``r * 2**j`` with a base order ``r > 1``, such as 96) the 31-bit
multiplier ``round(2**s_rec / sqrt(m))``, computed with integer square roots, so identical on every
platform. ``(M_in, s_in)`` represents ``s_U s_x sqrt(m) / s_h``.

The clip of ``z`` to ``Z = m * 2**b_h`` cannot change any result: ``|a| <= A = m H``, and
``rescale(Z - A) >= H`` (checked by :func:`check_input_term_limit`), so whenever ``|z| >= Z`` the
new state saturates with or without the clip. It exists to bound the accumulator.

Accumulator bounds (why int32 suffices)
---------------------------------------
Every sum of the step is int32 and provably cannot overflow; :func:`accumulator_bounds` computes the
worst cases and :func:`check_accumulator_bounds` rejects a model for which one reaches ``2**31``:

* FWHT: ``|a| <= m H`` (each output is a sum of ``m`` terms ``±h``, for ``m = r * 2**j`` too: one
  transform grows values by at most the factor ``m``);
* recurrent accumulator: ``|a + z| <= m H + Z < 1.5 m 2**b_h``, so int32 holds whenever
  ``log2 m + b_h <= 30`` (``m <= 2**14`` at ``b_h = 16``, ``m <= 2**22`` at ``b_h = 8``);
* input projection: ``|U_q x_q + b_in| <= d 2**(p_U-1) X + max|b_in|``;
* read-out: ``|V_q relu(h_q) + c_q| <= n 2**(p_V-1) H + max|c_q|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import FIXED_POINT_MULTIPLIER_BITS, hadamard_scale_fixed_point
from ..errors import ShapeError

__all__ = [
    "INT32_MAX",
    "MAX_MULTIPLIER",
    "MAX_SHIFT",
    "Rescale",
    "activation_limit",
    "saturate",
    "round_shift",
    "rescale",
    "round_half_away",
    "quantize",
    "rescale_for",
    "inverse_sqrt_rescale",
    "input_term_limit",
    "check_input_term_limit",
    "accumulator_bounds",
    "check_accumulator_bounds",
]

INT32_MAX = 2**31 - 1
MAX_MULTIPLIER = 2**31 - 1
"""Largest multiplier ``M`` of a rescale (31 bits, so ``|v * M| < 2**62`` for ``|v| < 2**31``)."""
MAX_SHIFT = 62
"""Largest shift ``s`` of a rescale (the rounding constant ``2**(s-1)`` must fit int64)."""

# Multipliers are normalised to [2**30, 2**31): 31 significant bits, a relative error of at most
# 2**-31, so that even the recurrent gain 1/sqrt(m) stays accurate over thousands of steps. The
# core's fixed-point 1/sqrt(m) follows the same normalisation.
_MULTIPLIER_BITS = FIXED_POINT_MULTIPLIER_BITS


def activation_limit(bits: int) -> int:
    """The largest code of the symmetric ``bits``-bit activation range, ``2**(bits-1) - 1``."""
    return (1 << (bits - 1)) - 1


def saturate(values: Any, bits: int) -> Any:
    """Clip integer ``values`` to the symmetric ``bits``-bit range ``[-L, L]``, ``L = 2**(bits-1) - 1``."""
    limit = activation_limit(bits)
    return values.clip(-limit, limit)


# The three integer operations below use only Python operators and ``.clip``, so the same code runs
# on numpy int64 arrays (hadamrnn.runtime), on numpy object arrays of Python ints (the unbounded
# reference) and on torch int64 tensors (the integer simulation): the convention exists once.


def _wide(values: Any) -> Any:
    """``values`` as 64-bit integers (numpy int64 or torch int64); object arrays stay unbounded."""
    if isinstance(values, np.ndarray):
        return values if values.dtype == object else values.astype(np.int64)
    if hasattr(values, "long"):  # a torch tensor, recognised without importing torch
        return values.long()
    return values  # a Python int


def round_shift(values: Any, shift: int) -> Any:
    """``values / 2**shift`` rounded half away from zero (int64 arrays or tensors, or Python ints)."""
    values = _wide(values)
    if shift == 0:
        return values + 0  # a copy, like the other branch
    magnitude = (abs(values) + (1 << (shift - 1))) >> shift
    return magnitude - 2 * magnitude * (values < 0)


def rescale(values: Any, multiplier: int, shift: int) -> Any:
    """``round_shift(values * multiplier, shift)`` with a 64-bit product.

    ``values`` must lie in ``(-2**31, 2**31)``; with ``multiplier < 2**31`` the product then stays
    below ``2**62`` in magnitude. Object arrays of Python ints (the unbounded reference) never overflow.
    """
    return round_shift(_wide(values) * multiplier, shift)


def quantize(values: Any, scale: float, bits: int) -> np.ndarray:
    """Float ``values`` to symmetric ``bits``-bit codes: ``saturate(round_half_away(v / scale))``.

    Computed in float64 (``scale`` is the float32 value stored in the file), so every host that
    follows IEEE-754 gets the same codes. Returns int64.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        first = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ShapeError(f"inputs must be finite numbers, got {values[first]} at index {first}")
    scaled = values / np.float64(scale)
    limit = activation_limit(bits)
    return saturate(round_half_away(np.clip(scaled, -limit - 1, limit + 1)), bits).astype(np.int64)


def round_half_away(values: Any) -> np.ndarray:
    """Float ``values`` rounded half away from zero, exactly (float64 result, integral values).

    ``trunc`` and ``v - trunc(v)`` are exact in binary floating point, so the tie test is exact;
    the textbook ``floor(|v| + 0.5)`` is not (it rounds 0.49999999999999994 up).
    """
    values = np.asarray(values, dtype=np.float64)
    whole = np.trunc(values)
    return whole + np.sign(values) * (np.abs(values - whole) >= 0.5)


@dataclass(frozen=True)
class Rescale:
    """A real factor as ``multiplier * 2**-shift`` (see the module docstring)."""

    multiplier: int
    shift: int

    def __post_init__(self) -> None:
        if not (isinstance(self.multiplier, int) and 1 <= self.multiplier <= MAX_MULTIPLIER):
            raise ValueError(f"multiplier must be an integer in [1, {MAX_MULTIPLIER}], got {self.multiplier!r}")
        if not (isinstance(self.shift, int) and 0 <= self.shift <= MAX_SHIFT):
            raise ValueError(f"shift must be an integer in [0, {MAX_SHIFT}], got {self.shift!r}")

    @property
    def is_exact_shift(self) -> bool:
        """Whether the rescale is a plain rounding shift (no multiplication)."""
        return self.multiplier == 1

    @property
    def value(self) -> float:
        """The real factor it represents (for reports, never for computing)."""
        return math.ldexp(self.multiplier, -self.shift)

    def apply(self, values: Any) -> np.ndarray:
        return rescale(values, self.multiplier, self.shift)


def rescale_for(real: float) -> Rescale:
    """The rescale ``(M, s)`` nearest to ``real > 0``: ``(1, s)`` for ``real = 2**-s``, else
    ``M`` in ``[2**30, 2**31)`` with ``M = round_half_away(real * 2**s)``.

    Raises:
        ValueError: ``real`` is not finite and positive, or needs a shift outside ``[0, 62]``
            (``real >= 2**31 - 1/2`` or ``real < 2**-32``, except the exact shifts ``2**-s``, ``s <= 62``).
    """
    if not (isinstance(real, (int, float)) and math.isfinite(real) and real > 0):
        raise ValueError(f"a rescale factor must be a finite positive number, got {real!r}")
    mantissa, exponent = math.frexp(real)  # real = mantissa * 2**exponent, mantissa in [0.5, 1)
    if mantissa == 0.5 and exponent <= 1:  # an exact power of two 2**-s: a pure shift
        return Rescale(1, 1 - exponent)
    shift = _MULTIPLIER_BITS - exponent
    multiplier = int(round_half_away(math.ldexp(mantissa, _MULTIPLIER_BITS)))
    if multiplier == 1 << _MULTIPLIER_BITS:  # rounding carried into a new bit
        multiplier, shift = multiplier >> 1, shift - 1
    if not 0 <= shift <= MAX_SHIFT:
        raise ValueError(
            f"rescale factor {real!r} is out of range: it needs a shift of {shift}, "
            f"expected 0..{MAX_SHIFT} (a factor in [2**-32, 2**31 - 1/2))"
        )
    return Rescale(multiplier, shift)


def inverse_sqrt_rescale(block_size: int) -> Rescale:
    """``1/sqrt(m)`` for a supported order ``m``: ``(1, e)`` for ``m = 4**e``; otherwise the 31-bit
    ``M = round(2**s / sqrt(m))``, computed with :func:`math.isqrt` so that it is the same integer
    on every platform (no float square root involved). The pair is
    :func:`hadamrnn.core.scale.hadamard_scale_fixed_point`.

    Raises:
        BlockSizeError: ``block_size`` is not a supported order (a :class:`ValueError`).
    """
    return Rescale(*hadamard_scale_fixed_point(block_size))


def input_term_limit(block_size: int, hidden_bits: int) -> int:
    """``Z = m * 2**b_h``: the clip of the input term, which cannot change a result."""
    return block_size << hidden_bits


def check_input_term_limit(block_size: int, hidden_bits: int) -> None:
    """Verify, with the integer rescale itself, that clipping ``z`` to ``±Z`` never changes a state.

    Raises:
        ValueError: ``rescale(Z - m H) < H`` (cannot happen for the Z above; kept as a proof check).
    """
    limit = activation_limit(hidden_bits)
    recurrent = inverse_sqrt_rescale(block_size)
    margin = input_term_limit(block_size, hidden_bits) - block_size * limit
    if int(recurrent.apply(np.array([margin]))[0]) < limit:
        raise ValueError(f"input term limit too small for block_size={block_size}, hidden_bits={hidden_bits}")


def accumulator_bounds(
    *,
    hidden_size: int,
    block_size: int,
    input_size: int,
    input_bits: int,
    hidden_bits: int,
    input_weight_bits: int,
    output_weight_bits: int,
    max_abs_input_bias: int,
    max_abs_output_bias: int,
) -> dict[str, int]:
    """Worst-case magnitudes of every int32 sum of the step (see the module docstring)."""
    hidden_limit = activation_limit(hidden_bits)
    fwht = block_size * hidden_limit
    return {
        "FWHT output m*H": fwht,
        "recurrent accumulator m*H + Z": fwht + input_term_limit(block_size, hidden_bits),
        "input projection d*2^(p_U-1)*X + max|b_in|": input_size * (1 << (input_weight_bits - 1)) * activation_limit(input_bits)
        + max_abs_input_bias,
        "read-out n*2^(p_V-1)*H + max|c|": hidden_size * (1 << (output_weight_bits - 1)) * hidden_limit
        + max_abs_output_bias,
    }


def check_accumulator_bounds(bounds: dict[str, int], error: type[Exception]) -> None:
    """Raise ``error`` naming the first bound that reaches ``2**31`` (int32 could overflow)."""
    for name, value in bounds.items():
        if value > INT32_MAX:
            raise error(
                f"the int32 accumulators cannot hold this model: expected the worst case of the {name} "
                f"to be at most 2**31 - 1 = {INT32_MAX}, got {value} (use fewer hidden bits, fewer "
                "weight bits, a smaller block size or smaller biases)"
            )
