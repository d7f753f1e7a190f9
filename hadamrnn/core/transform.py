r"""The integer fast Walsh–Hadamard transform, by butterflies.

Stage ``s = 1, 2, 4, ..., m/2`` replaces each pair ``(a, b) = (x[i], x[i + s])`` with ``i & s = 0``
by ``(a + b, a - b)``. The ``log2 m`` stages compute ``x @ S_m`` on each block of ``m`` entries:
the first ``log2 m`` stages of the full transform are the block transform
``x @ (I_{n/m} ⊗ S_m)``. No multiplication, ``n log2 m`` additions and subtractions.

The butterflies use only ``reshape``, basic slicing, slice assignment and ``+``/``-``, so one code
serves every integer array type that has them with numpy's semantics: numpy arrays of any integer
dtype, numpy object arrays of Python integers (unbounded), and torch integer tensors on any device
(the integer simulation of ``hadamrnn.export``). This module never imports torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from .orders import check_block_size, check_sylvester_order

__all__ = ["fwht_int"]


def fwht_int(values: Any, block_size: int | None = None) -> Any:
    """Unnormalised (block) Walsh–Hadamard transform of the last axis, exact in integers.

    Computes ``values @ (I_{n/m} ⊗ S_m)`` (``S`` is symmetric, so per vector also
    ``(I_{n/m} ⊗ S_m) x``); the dense equivalent is ``values @ block_sylvester(n, m)``. With
    ``block_size=None`` it is the full transform ``values @ S_n``.

    Exactness: each output is a sum of ``m`` terms ``±x``, so ``|y| <= m · max|x|``; the result is
    exact in the dtype of ``values`` whenever that bound fits it (int32 holds 16-bit codes up to
    ``m = 2^15``). The dtype is kept, never widened: pass int64 (or object) for more room.

    Args:
        values: ``(..., n)`` integer array: a numpy array (or anything ``numpy.asarray`` takes) or a
            torch integer tensor. ``n = q · m``.
        block_size: ``m``, a power of two dividing ``n``; None means ``m = n`` (then ``n`` must be a
            power of two).

    Returns:
        ``(..., n)``, a new array of the type, dtype and device of ``values``.

    Raises:
        ShapeError: ``values`` is a scalar.
        HiddenSizeError: ``block_size`` is None and ``n`` is not a power of two.
        BlockSizeError: ``block_size`` is not a power of two dividing ``n``.

    Example:
        >>> fwht_int(np.array([1, 0, 0, 0]))
        array([1, 1, 1, 1])
        >>> fwht_int(np.array([1, 2, 3, 4]), block_size=2)
        array([ 3, -1,  7, -1])
    """
    if not (hasattr(values, "reshape") and hasattr(values, "shape")):
        values = np.asarray(values)
    shape = tuple(values.shape)
    if not shape:
        raise ShapeError("fwht_int expects an array of shape (..., n), got a scalar")
    n = shape[-1]
    if block_size is None:
        check_sylvester_order(n, "the size of the last axis")
    m = check_block_size(n, block_size)
    rows = values.reshape(-1, n)
    count = rows.shape[0]
    half = 1
    while half < m:
        pairs = rows.reshape(count, n // (2 * half), 2, half)
        top, bottom = pairs[:, :, :1], pairs[:, :, 1:]
        # A fresh array [a + b, b + b] whose second half is then overwritten with a - b: the input
        # is never written, whatever its memory layout.
        rows = pairs + bottom
        rows[:, :, 1:] = top - bottom
        half *= 2
    if m == 1:
        rows = rows + 0  # the identity, as a copy like every other block size
    return rows.reshape(shape)
