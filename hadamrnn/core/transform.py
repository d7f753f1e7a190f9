r"""The integer fast Hadamard transform: Walsh–Hadamard butterflies, then the small base product.

For a block of order ``m = r · 2^j`` the matrix is ``H_m = H_r ⊗ S_{2^j}``
(:mod:`hadamrnn.core.matrices`). Viewing each block of ``x`` as an ``r × 2^j`` array ``X`` (row
``a`` holds entries ``a 2^j, ..., a 2^j + 2^j - 1``), ``H_m x`` is ``H_r X S_{2^j}``:

1. **butterflies**: stage ``s = 1, 2, 4, ..., 2^j/2`` replaces each pair ``(a, b) = (x[i], x[i + s])``
   with ``i & s = 0`` by ``(a + b, a - b)``. The ``j`` stages compute ``X S_{2^j}`` on every row of
   every block: the first ``j`` stages of the full transform are the block transform;
2. **base product** (``r > 1`` only): row ``a`` of the result is ``Σ_b H_r[a, b] · row b``, a sum
   of the ``r`` rows with the signs of row ``a`` of ``H_r``: additions and subtractions of whole
   rows, no multiplication.

``n log2(2^j) + n (r - 1)`` additions and subtractions in all (``n log2 m`` for ``r = 1``). The
transposed transform ``H_mᵀ x`` (the backward pass of ``W``; ``S`` is symmetric but a Paley
``H_r`` need not be) uses the columns of ``H_r`` instead of its rows.

The code uses only ``reshape``, basic slicing, slice assignment, indexing by a list of integers and
``+``/``-``, so one code serves every integer array type that has them with numpy's semantics:
numpy arrays of any integer dtype, numpy object arrays of Python integers (unbounded), and torch
integer tensors on any device (the integer simulation of ``hadamrnn.export``). This module never
imports torch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import ShapeError
from .base_matrices import base_matrix
from .orders import check_block_size, check_hidden_size, split_order

__all__ = ["fwht_int"]


def fwht_int(values: Any, block_size: int | None = None, *, transpose: bool = False, base: Any = None) -> Any:
    """Unnormalised (block) Hadamard transform of the last axis, exact in integers.

    Computes ``(I_{n/m} ⊗ H_m) x`` for every vector ``x`` along the last axis, i.e.
    ``values @ block_hadamard(n, m).T`` (``values @ block_hadamard(n, m)`` with ``transpose=True``);
    for a power of two ``m`` the two are the same Walsh–Hadamard transform ``values @ S_m``. With
    ``block_size=None`` it is the full transform of order ``n``.

    Exactness: each output is a sum of ``m`` terms ``±x``, so ``|y| <= m · max|x|``; the result is
    exact in the dtype of ``values`` whenever that bound fits it (int32 holds 16-bit codes up to
    ``m = 2^15``). The dtype is kept, never widened: pass int64 (or object) for more room.

    Args:
        values: ``(..., n)`` integer array: a numpy array (or anything ``numpy.asarray`` takes) or a
            torch integer tensor. ``n = q · m``.
        block_size: ``m``, a supported order dividing ``n``; None means ``m = n`` (then ``n`` must be
            a supported order).
        transpose: apply ``H_mᵀ`` instead of ``H_m``.
        base: an ``(r, r)`` ±1 matrix to use as ``H_r`` instead of the canonical base matrix (a
            model file carries its own), with ``m = r · 2^j``.

    Returns:
        ``(..., n)``, a new array of the type, dtype and device of ``values``.

    Raises:
        ShapeError: ``values`` is a scalar, or ``base`` does not fit ``m``.
        HiddenSizeError: ``block_size`` is None and ``n`` is not a supported order.
        BlockSizeError: ``block_size`` is not a supported order dividing ``n``.

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
        check_hidden_size(n, "the size of the last axis")
    m = check_block_size(n, block_size)
    columns = _base_signs(m, base, transpose)
    r = len(columns)
    c = m // r  # the Sylvester part 2^j
    rows = values.reshape(-1, n)
    count = rows.shape[0]
    half = 1
    while half < c:
        pairs = rows.reshape(count, n // (2 * half), 2, half)
        top, bottom = pairs[:, :, :1], pairs[:, :, 1:]
        # A fresh array [a + b, b + b] whose second half is then overwritten with a - b: the input
        # is never written, whatever its memory layout.
        rows = pairs + bottom
        rows[:, :, 1:] = top - bottom
        half *= 2
    if r > 1:
        rows = _base_product(rows.reshape(count, n // m, r, c), columns)
    elif c == 1:
        rows = rows + 0  # the identity, as a copy like every other block size
    return rows.reshape(shape)


Columns = tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]


def _base_signs(m: int, base: Any, transpose: bool) -> Columns:
    """The base matrix ``H`` (``H_r``, or ``H_rᵀ`` with ``transpose``) by columns: for each input
    row ``b``, the output rows it is added to and those it is subtracted from,
    ``([a : H[a, b] = 1], [a : H[a, b] = -1])``. One entry, ``((0,), ())``, for ``r = 1``."""
    if base is None:
        return _canonical_columns(split_order(m, "block_size")[0], transpose)
    matrix = np.asarray(base)
    r = matrix.shape[0] if matrix.ndim == 2 else 0
    if matrix.shape != (r, r) or r == 0 or m % r or (m // r) & (m // r - 1):
        raise ShapeError(
            f"base must be an (r, r) matrix with block_size = r * 2^j, got shape {matrix.shape} for block_size={m}"
        )
    if not np.isin(matrix, (1, -1)).all():
        raise ShapeError("base must have entries ±1 only")
    return _columns(matrix.T if transpose else matrix)


@lru_cache(maxsize=None)
def _canonical_columns(r: int, transpose: bool) -> Columns:
    matrix = base_matrix(r)
    return _columns(matrix.T if transpose else matrix)


def _columns(matrix: np.ndarray) -> Columns:
    return tuple(
        (tuple(int(a) for a in np.flatnonzero(column > 0)), tuple(int(a) for a in np.flatnonzero(column < 0)))
        for column in matrix.T
    )


def _base_product(blocks: Any, columns: Columns) -> Any:
    """``H X`` for every block ``X`` of ``blocks`` ``(count, q, r, c)``, from the columns of ``H``.

    Row ``b`` of ``X`` is added to the output rows ``a`` with ``H[a, b] = 1`` and subtracted from
    those with ``H[a, b] = -1``: ``2r`` indexed additions on whole arrays. The output starts from
    ``blocks * 0``, a zero array of the type, dtype and device of the input (an index is a list,
    which numpy arrays and torch tensors both take)."""
    result = blocks * 0
    for b, (added, subtracted) in enumerate(columns):
        row = blocks[:, :, b : b + 1, :]
        if added:
            result[:, :, list(added), :] += row
        if subtracted:
            result[:, :, list(subtracted), :] -= row
    return result
