r"""The Hadamard matrices of the library, their block-diagonal form and the signed ``diag(u)·H``.

The Sylvester matrix of order ``2^k`` is ``S_1 = [1]``, ``S_{2m} = [[S_m, S_m], [S_m, -S_m]]``,
equivalently ``S[i, j] = (-1)^popcount(i & j)``. It is symmetric and ``S S = 2^k I``.

The Hadamard matrix of a supported order ``n = r · 2^k`` (:mod:`hadamrnn.core.orders`) is
``H_n = H_r ⊗ S_{2^k}`` with the canonical base matrix ``H_r``
(:mod:`hadamrnn.core.base_matrices`): entry ``(a 2^k + b, c 2^k + d)`` is
``H_r[a, c] · S[b, d]``, and ``H_n H_nᵀ = n I``. For ``r = 1`` it is ``S_n``; for ``r > 1`` it is
not symmetric in general (Paley I bases are not).

The recurrent matrices of the library are built from it: ``W = diag(u) H_n / √n`` (HadamRNN) and
``W = diag(u) (I_q ⊗ H_m) / √m`` (Block-HadamRNN, ``n = q m``). This module gives their integer
part ``√m · W = diag(u) (I_q ⊗ H_m)``; the scale ``1/√m`` is :mod:`hadamrnn.core.scale`.

Every matrix is a new numpy array (nothing is cached, so a caller may modify what it receives).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BlockSizeError, ShapeError
from .base_matrices import base_matrix
from .orders import check_block_size, check_hidden_size, check_sylvester_order, split_order

__all__ = [
    "sylvester",
    "hadamard",
    "block_hadamard",
    "signed_block_hadamard",
    "block_sylvester",
    "signed_block_sylvester",
]


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


def _base(block_size: int, base: Any, dtype: Any) -> tuple[np.ndarray, int]:
    """``(H_r, 2^j)`` of a block of order ``m = r · 2^j``: the canonical ``H_r``, or ``base``."""
    if base is None:
        r, sylvester_part = split_order(block_size, "block_size", error=BlockSizeError)
        return base_matrix(r, dtype), sylvester_part
    matrix = np.asarray(base)
    r = matrix.shape[0] if matrix.ndim == 2 else 0
    if matrix.ndim != 2 or matrix.shape != (r, r) or r == 0 or block_size % r or not _power_of_two(block_size // r):
        raise ShapeError(
            f"base must be an (r, r) matrix with block_size = r * 2^j, got shape {matrix.shape} for block_size={block_size}"
        )
    return matrix.astype(dtype), block_size // r


def _power_of_two(value: int) -> bool:
    return value >= 1 and value & (value - 1) == 0


def hadamard(n: int, dtype: Any = np.int64, *, base: Any = None) -> np.ndarray:
    """The Hadamard matrix ``H_n = H_r ⊗ S_{2^k}`` of a supported order ``n = r · 2^k``, entries ±1.

    Args:
        n: the order, a supported hidden size (:func:`~hadamrnn.core.orders.check_hidden_size`).
        dtype: a signed integer or float numpy dtype (default int64).
        base: the ``(r, r)`` base matrix to use instead of the canonical ``H_r`` (a model file
            carries its own), with ``n = r · 2^k``.

    Returns:
        ``(n, n)`` array, ``H_n H_nᵀ = n I``.

    Raises:
        HiddenSizeError: ``n`` is not a supported order.

    Example:
        >>> h = hadamard(24)  # H_12 ⊗ S_2
        >>> h.shape, bool((h @ h.T == 24 * np.eye(24)).all())
        ((24, 24), True)
        >>> bool((hadamard(16) == sylvester(16)).all())
        True
    """
    n = check_hidden_size(n, "n")
    matrix, sylvester_part = _base(n, base, dtype)
    return np.kron(matrix, sylvester(sylvester_part, dtype))


def block_hadamard(n: int, block_size: int | None, dtype: Any = np.int64, *, base: Any = None) -> np.ndarray:
    """The block-diagonal ``I_{n/m} ⊗ H_m``, entries in {0, ±1}: ``H_m`` on each of ``q = n/m``
    diagonal blocks.

    Args:
        n: the order, ``q · m`` for any number ``q >= 1`` of blocks.
        block_size: ``m``, a supported order dividing ``n``; None means ``m = n`` (then ``n`` must
            be a supported order).
        dtype: a signed integer or float numpy dtype (default int64).
        base: the base matrix of each block instead of the canonical one (as in :func:`hadamard`).

    Returns:
        ``(n, n)`` array, equal to ``np.kron(np.eye(n // m), hadamard(m))``.

    Raises:
        BlockSizeError: ``block_size`` is not a supported order dividing ``n``.

    Example:
        >>> block_hadamard(6, 2)  # q = 3 blocks
        array([[ 1,  1,  0,  0,  0,  0],
               [ 1, -1,  0,  0,  0,  0],
               [ 0,  0,  1,  1,  0,  0],
               [ 0,  0,  1, -1,  0,  0],
               [ 0,  0,  0,  0,  1,  1],
               [ 0,  0,  0,  0,  1, -1]])
    """
    m = check_block_size(n, block_size)
    if block_size is None:
        check_hidden_size(n, "n")
    matrix, sylvester_part = _base(m, base, dtype)
    block = np.kron(matrix, sylvester(sylvester_part, dtype))
    return np.kron(np.eye(n // m, dtype=dtype), block)


def signed_block_hadamard(
    signs: Any, block_size: int | None = None, dtype: Any = np.int64, *, base: Any = None
) -> np.ndarray:
    """``diag(u) (I_{n/m} ⊗ H_m)``: row ``i`` is ``u[i]`` times row ``i`` of :func:`block_hadamard`.

    This is ``√m · W`` for the (Block-)HadamRNN matrix ``W = diag(u) (I_q ⊗ H_m) / √m``.

    Args:
        signs: ``(n,)`` the sign vector ``u`` (its entries are used as they are; ±1 gives an
            orthogonal ``W``).
        block_size: ``m``, a supported order dividing ``n``; None means ``m = n``.
        dtype: the dtype of the result (default int64).
        base: the base matrix of each block instead of the canonical one (as in :func:`hadamard`).

    Returns:
        ``(n, n)`` array ``signs[:, None] * block_hadamard(n, m)``.

    Raises:
        ShapeError: ``signs`` is not a vector.
        BlockSizeError: ``block_size`` is not a supported order dividing ``n``.

    Example:
        >>> signed_block_hadamard([1, -1, 1, -1], 2)
        array([[ 1,  1,  0,  0],
               [-1,  1,  0,  0],
               [ 0,  0,  1,  1],
               [ 0,  0, -1,  1]])
    """
    u = np.asarray(signs).astype(dtype, copy=False)
    if u.ndim != 1:
        raise ShapeError(f"signs must be a vector of shape (n,), got shape {u.shape}")
    return u[:, None] * block_hadamard(u.shape[0], block_size, dtype, base=base)


def block_sylvester(n: int, block_size: int | None, dtype: Any = np.int64) -> np.ndarray:
    """:func:`block_hadamard` with Sylvester blocks only: ``I_{n/m} ⊗ S_m``, ``m`` a power of two
    dividing ``n`` (``block_size=None``: ``n`` itself, a power of two).

    Raises:
        HiddenSizeError: ``block_size`` is None and ``n`` is not a power of two.
        BlockSizeError: ``block_size`` is not a power of two dividing ``n``.
    """
    m = check_sylvester_order(n, "n") if block_size is None else check_block_size(n, block_size)
    check_sylvester_order(m, "block_size", error=BlockSizeError)
    return block_hadamard(n, m, dtype)


def signed_block_sylvester(signs: Any, block_size: int | None = None, dtype: Any = np.int64) -> np.ndarray:
    """:func:`signed_block_hadamard` with Sylvester blocks only (as :func:`block_sylvester`)."""
    u = np.asarray(signs)
    if u.ndim != 1:
        raise ShapeError(f"signs must be a vector of shape (n,), got shape {u.shape}")
    return u.astype(dtype, copy=False)[:, None] * block_sylvester(u.shape[0], block_size, dtype)
