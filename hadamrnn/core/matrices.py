r"""The Sylvester Hadamard matrix, its block-diagonal form and the signed matrix ``diag(u)·S``.

The Sylvester matrix of order ``n = 2^k`` is ``S_1 = [1]``, ``S_{2m} = [[S_m, S_m], [S_m, -S_m]]``,
equivalently ``S[i, j] = (-1)^popcount(i & j)``. It is symmetric and ``S S = n I``.

The recurrent matrices of the library are built from it: ``W = diag(u) S_n / √n`` (HadamRNN) and
``W = diag(u) (I_q ⊗ S_m) / √m`` (Block-HadamRNN, ``n = q m``). This module gives their integer
part ``√m · W = diag(u) (I_q ⊗ S_m)``; the scale ``1/√m`` is :mod:`hadamrnn.core.scale`.

Every matrix is a new numpy array (nothing is cached, so a caller may modify what it receives).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from .orders import check_block_size, check_sylvester_order

__all__ = ["sylvester", "block_sylvester", "signed_block_sylvester"]


def sylvester(n: int, dtype: Any = np.int64) -> np.ndarray:
    """The Sylvester Hadamard matrix ``S_n``, entries ±1.

    Args:
        n: the order, a power of two.
        dtype: a signed integer or float numpy dtype (default int64).

    Returns:
        ``(n, n)`` array with ``S[i, j] = (-1)^popcount(i & j)``.

    Raises:
        HiddenSizeError: ``n`` is not a power of two.

    Example:
        >>> sylvester(2)
        array([[ 1,  1],
               [ 1, -1]])
        >>> sylvester(8)[3]  # (-1)^popcount(3 & j)
        array([ 1, -1, -1,  1,  1, -1, -1,  1])
    """
    n = check_sylvester_order(n, "n")
    matrix = np.ones((1, 1), dtype=dtype)
    while matrix.shape[0] < n:  # the doubling S_{2m} = [[S_m, S_m], [S_m, -S_m]]
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


def block_sylvester(n: int, block_size: int | None, dtype: Any = np.int64) -> np.ndarray:
    """The block-diagonal ``I_{n/m} ⊗ S_m``, entries in {0, ±1}: ``S_m`` on each of ``q = n/m``
    diagonal blocks.

    Args:
        n: the order, ``q · m`` for any number ``q >= 1`` of blocks.
        block_size: ``m``, a power of two dividing ``n``; None means ``m = n`` (then ``n`` must
            be a power of two).
        dtype: a signed integer or float numpy dtype (default int64).

    Returns:
        ``(n, n)`` array, equal to ``np.kron(np.eye(n // m), sylvester(m))``.

    Raises:
        BlockSizeError: ``block_size`` is not a power of two dividing ``n``.

    Example:
        >>> block_sylvester(6, 2)  # q = 3 blocks
        array([[ 1,  1,  0,  0,  0,  0],
               [ 1, -1,  0,  0,  0,  0],
               [ 0,  0,  1,  1,  0,  0],
               [ 0,  0,  1, -1,  0,  0],
               [ 0,  0,  0,  0,  1,  1],
               [ 0,  0,  0,  0,  1, -1]])
    """
    m = check_block_size(n, block_size)
    block = sylvester(m, dtype)
    return np.kron(np.eye(n // m, dtype=dtype), block)


def signed_block_sylvester(signs: Any, block_size: int | None = None, dtype: Any = np.int64) -> np.ndarray:
    """``diag(u) (I_{n/m} ⊗ S_m)``: row ``r`` is ``u[r]`` times row ``r`` of :func:`block_sylvester`.

    This is ``√m · W`` for the (Block-)HadamRNN matrix ``W = diag(u) (I_q ⊗ S_m) / √m``.

    Args:
        signs: ``(n,)`` the sign vector ``u`` (its entries are used as they are; ±1 gives an
            orthogonal ``W``).
        block_size: ``m``, a power of two dividing ``n``; None means ``m = n``.
        dtype: the dtype of the result (default int64).

    Returns:
        ``(n, n)`` array ``signs[:, None] * block_sylvester(n, m)``.

    Raises:
        ShapeError: ``signs`` is not a vector.
        BlockSizeError: ``block_size`` is not a power of two dividing ``n``.

    Example:
        >>> signed_block_sylvester([1, -1, 1, -1], 2)
        array([[ 1,  1,  0,  0],
               [-1,  1,  0,  0],
               [ 0,  0,  1,  1],
               [ 0,  0, -1,  1]])
    """
    u = np.asarray(signs).astype(dtype, copy=False)
    if u.ndim != 1:
        raise ShapeError(f"signs must be a vector of shape (n,), got shape {u.shape}")
    return u[:, None] * block_sylvester(u.shape[0], block_size, dtype)
