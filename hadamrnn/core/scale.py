r"""The scale ``1/√m`` that makes ``H_m / √m`` orthogonal, in floating point and in fixed point.

Each row of a Hadamard block ``H_m`` of order ``m`` has Euclidean norm ``√m``, so
``W = diag(u) (I_q ⊗ H_m) / √m`` is orthogonal: :func:`hadamard_scale` is that ``1/√m`` and
:func:`hadamard_norm` the ``√m`` of the other direction (the integer runtimes count the recurrent
accumulator in units of ``s_h / √m``, and the input term is converted into them). ``m`` is any
supported order ``r · 2^j`` (:mod:`hadamrnn.core.orders`).

The integer runtimes apply ``1/√m`` as a fixed-point rescale ``M · 2^-s`` (the convention of
``hadamrnn.export.fixed_point``). With ``e`` the smallest integer such that ``4^e >= m``:

* ``m = 4^e`` (a power of four): ``1/√m = 2^-e`` exactly, the pair ``(1, e)``, a plain rounding
  shift;
* otherwise (``m = 2^k`` with ``k`` odd, or ``r > 1``, e.g. ``96``): ``s = 30 + e`` and the
  31-bit multiplier ``M = round(2^s / √m)`` in ``[2^30, 2^31)``, computed with integer square
  roots, so the same integer on every platform. For ``m = 2^k`` with ``k`` odd this is
  ``round(√2 · 2^30)`` with ``s = 30 + (k + 1)/2``.
"""

from __future__ import annotations

import math

from ..errors import BlockSizeError
from .orders import check_hidden_size

__all__ = ["FIXED_POINT_MULTIPLIER_BITS", "hadamard_scale", "hadamard_norm", "hadamard_scale_fixed_point"]

FIXED_POINT_MULTIPLIER_BITS = 31
"""Bits of the multiplier of :func:`hadamard_scale_fixed_point` when it is not 1: ``M`` lies in
``[2^30, 2^31)``, a relative error of at most ``2^-31`` per step of the recurrence."""


def _check_block(block_size: int) -> int:
    return check_hidden_size(block_size, "block_size", error=BlockSizeError)


def hadamard_scale(block_size: int) -> float:
    """``1/√m``, the normalisation that makes ``H_m / √m`` orthogonal (float64, correctly rounded).

    Example:
        >>> hadamard_scale(4), hadamard_scale(96) == 1 / 96 ** 0.5
        (0.5, True)

    Raises:
        BlockSizeError: ``block_size`` is not a supported order.
    """
    return 1.0 / math.sqrt(_check_block(block_size))


def hadamard_norm(block_size: int) -> float:
    """``√m``, the Euclidean norm of each row of ``H_m`` (float64, correctly rounded).

    Raises:
        BlockSizeError: ``block_size`` is not a supported order.
    """
    return math.sqrt(_check_block(block_size))


def hadamard_scale_fixed_point(block_size: int) -> tuple[int, int]:
    """``1/√m`` as the fixed-point pair ``(M, s)``, ``1/√m ≈ M · 2^-s`` (see the module docstring).

    Exact (``M = 1``) when ``m`` is a power of four; otherwise ``M = round(2^s / √m)`` with 31 bits,
    so that ``(2M - 1)^2 m < 4^{s+1} < (2M + 1)^2 m``.

    Example:
        >>> hadamard_scale_fixed_point(16), hadamard_scale_fixed_point(2), hadamard_scale_fixed_point(96)
        ((1, 2), (1518500250, 31), (1753413056, 34))

    Raises:
        BlockSizeError: ``block_size`` is not a supported order.
    """
    m = _check_block(block_size)
    exponent = 0  # the smallest e with 4^e >= m
    while 4**exponent < m:
        exponent += 1
    if 4**exponent == m:
        return 1, exponent
    shift = FIXED_POINT_MULTIPLIER_BITS - 1 + exponent  # 2^s / √m lies in [2^30, 2^31)
    # round(√(4^s / m)) = (floor(√(4^(s+1) / m)) + 1) // 2: no tie is possible, as 4^(s+1) / m is
    # not the square of an odd number; and floor(√x) = isqrt(floor(x)) for x >= 0.
    multiplier = (math.isqrt(4 ** (shift + 1) // m) + 1) // 2
    if multiplier == 1 << FIXED_POINT_MULTIPLIER_BITS:  # only for m just above a power of four
        multiplier, shift = multiplier >> 1, shift - 1
    return multiplier, shift
