r"""The scale ``1/√m`` that makes ``S_m / √m`` orthogonal, in floating point and in fixed point.

Each row of a Sylvester block ``S_m`` has Euclidean norm ``√m``, so ``W = diag(u) (I_q ⊗ S_m) / √m``
is orthogonal: :func:`hadamard_scale` is that ``1/√m`` and :func:`hadamard_norm` the ``√m``
of the other direction (the integer runtimes count the recurrent accumulator in units of
``s_h / √m``, and the input term is converted into them).

The integer runtimes apply ``1/√m`` as a fixed-point rescale ``M · 2^-s`` (the convention of
``hadamrnn.export.fixed_point``): with ``k = log2 m``,

* ``k`` even: ``1/√m = 2^{-k/2}`` exactly, the pair ``(1, k/2)``, a plain rounding shift;
* ``k`` odd: ``1/√m = √2 · 2^{-(k+1)/2}``, the pair ``(round(√2 · 2^30), 30 + (k+1)/2)``, a
  31-bit multiplier in ``[2^30, 2^31)`` computed with integer square roots, so the same integer on
  every platform.
"""

from __future__ import annotations

import math

from ..errors import BlockSizeError
from .orders import check_sylvester_order

__all__ = ["FIXED_POINT_MULTIPLIER_BITS", "hadamard_scale", "hadamard_norm", "hadamard_scale_fixed_point"]

FIXED_POINT_MULTIPLIER_BITS = 31
"""Bits of the multiplier of :func:`hadamard_scale_fixed_point` when it is not 1: ``M`` lies in
``[2^30, 2^31)``, a relative error of at most ``2^-31`` per step of the recurrence."""


def _check_block(block_size: int) -> int:
    return check_sylvester_order(block_size, "block_size", error=BlockSizeError)


def hadamard_scale(block_size: int) -> float:
    """``1/√m``, the normalisation that makes ``S_m / √m`` orthogonal (float64, correctly rounded).

    Example:
        >>> hadamard_scale(4)
        0.5

    Raises:
        BlockSizeError: ``block_size`` is not a power of two.
    """
    return 1.0 / math.sqrt(_check_block(block_size))


def hadamard_norm(block_size: int) -> float:
    """``√m``, the Euclidean norm of each row of ``S_m`` (float64, correctly rounded).

    Raises:
        BlockSizeError: ``block_size`` is not a power of two.
    """
    return math.sqrt(_check_block(block_size))


def hadamard_scale_fixed_point(block_size: int) -> tuple[int, int]:
    """``1/√m`` as the fixed-point pair ``(M, s)``, ``1/√m ≈ M · 2^-s`` (see the module docstring).

    Exact (``M = 1``) when ``log2 m`` is even; otherwise ``M = round(2^s / √m)`` with 31 bits, so
    that ``(2M - 1)^2 m < 4^{s+1} < (2M + 1)^2 m``.

    Example:
        >>> hadamard_scale_fixed_point(16), hadamard_scale_fixed_point(2)
        ((1, 2), (1518500250, 31))

    Raises:
        BlockSizeError: ``block_size`` is not a power of two.
    """
    k = _check_block(block_size).bit_length() - 1
    if k % 2 == 0:
        return 1, k // 2
    # 1/√(2^k) = √2 · 2^-((k+1)/2), and √2 · 2^30 = √(2^61) lies in [2^30, 2^31).
    top = FIXED_POINT_MULTIPLIER_BITS - 1
    # round(√x) = (isqrt(4x) + 1) // 2 for an integer x that is not a square (here x = 2^61).
    multiplier = (math.isqrt(4 << (2 * top + 1)) + 1) // 2
    return multiplier, top + (k + 1) // 2
