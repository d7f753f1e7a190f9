"""Sylvester Hadamard matrices and the fast Walsh–Hadamard transform (pure-torch reference).

The Sylvester matrix of order ``n = 2^k`` is ``S_1 = [1]``, ``S_{2m} = [[S_m, S_m], [S_m, -S_m]]``,
equivalently ``S[i, j] = (-1)^popcount(i & j)``. It is symmetric and ``S @ S = n I``.
"""

from __future__ import annotations

import math

import torch

from .errors import BlockSizeError, HiddenSizeError, ShapeError

__all__ = [
    "sylvester",
    "block_sylvester",
    "fwht",
    "is_hadamard",
    "is_power_of_two",
    "check_hidden_size",
    "check_block_size",
]


def is_power_of_two(n: int) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n >= 1 and n & (n - 1) == 0


def check_hidden_size(n: int, name: str = "hidden_size") -> int:
    """Return ``n`` if a Sylvester Hadamard matrix of that order exists, else raise.

    Raises:
        HiddenSizeError: ``n`` is not a positive power of two.
    """
    if not is_power_of_two(n):
        raise HiddenSizeError(
            f"{name} must be a power of two (1, 2, 4, ..., the orders of the Sylvester Hadamard "
            f"matrices), got {n!r}"
        )
    return n


def check_block_size(n: int, block_size: int | None) -> int:
    """Return the effective block size ``m`` (``n`` when ``block_size`` is None), else raise.

    Raises:
        BlockSizeError: ``block_size`` is not a power of two dividing ``n``.
    """
    if block_size is None:
        return n
    if not is_power_of_two(block_size) or block_size > n:
        raise BlockSizeError(
            f"block_size must be a power of two dividing hidden_size={n} "
            f"(1, 2, 4, ..., {n}), got {block_size!r}"
        )
    return block_size


def sylvester(n: int, dtype: torch.dtype = torch.int64, device=None) -> torch.Tensor:
    """The Sylvester Hadamard matrix ``S_n`` with entries ±1.

    Args:
        n: the order, a power of two.
        dtype: dtype of the result (default ``torch.int64``).

    Returns:
        ``(n, n)`` tensor with ``S[i, j] = (-1)^popcount(i & j)``.

    Example:
        >>> sylvester(4)
        tensor([[ 1,  1,  1,  1],
                [ 1, -1,  1, -1],
                [ 1,  1, -1, -1],
                [ 1, -1, -1,  1]])
    """
    check_hidden_size(n, "n")
    index = torch.arange(n, device=device)
    both = index[:, None] & index[None, :]
    parity = torch.zeros_like(both)
    while bool(both.any()):
        parity ^= both & 1
        both = both >> 1
    return (1 - 2 * parity).to(dtype)


def block_sylvester(
    n: int, block_size: int, dtype: torch.dtype = torch.int64, device=None
) -> torch.Tensor:
    """The block-diagonal matrix ``I_{n/m} ⊗ S_m`` with entries in {0, ±1}.

    Example:
        >>> block_sylvester(4, 2)
        tensor([[ 1,  1,  0,  0],
                [ 1, -1,  0,  0],
                [ 0,  0,  1,  1],
                [ 0,  0,  1, -1]])
    """
    check_hidden_size(n, "n")
    m = check_block_size(n, block_size)
    eye = torch.eye(n // m, dtype=dtype, device=device)
    return torch.kron(eye, sylvester(m, dtype=dtype, device=device))


def is_hadamard(matrix: torch.Tensor) -> bool:
    """Whether ``matrix`` is square, has entries ±1 only and satisfies ``H Hᵀ = n I`` exactly."""
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        return False
    n = matrix.shape[0]
    if n == 0:
        return False
    if matrix.is_floating_point() or matrix.is_complex():
        if not bool(((matrix == 1) | (matrix == -1)).all()):
            return False
    h = matrix.to(torch.int64)
    if not bool(((h == 1) | (h == -1)).all()):
        return False
    gram = h @ h.T
    return bool(torch.equal(gram, n * torch.eye(n, dtype=torch.int64, device=h.device)))


# Factors of S_n = S_a ⊗ S_c are small; caching them per dtype and device keeps fwht free of
# allocations in the recurrent loop.
_FACTOR_CACHE: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}


def _sylvester_factor(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    key = (n, dtype, device)
    factor = _FACTOR_CACHE.get(key)
    if factor is None:
        factor = sylvester(n, dtype=dtype, device=device)
        _FACTOR_CACHE[key] = factor
    return factor


def fwht(x: torch.Tensor, block_size: int | None = None) -> torch.Tensor:
    """Unnormalised Walsh–Hadamard transform of the last dimension, in natural (Sylvester) order.

    Computes ``x @ S_n`` (equivalently ``S_n x`` per vector, since ``S`` is symmetric), or with
    ``block_size=m`` the block-diagonal ``x @ (I_{n/m} ⊗ S_m)``. The transform is split as
    ``S_n = S_a ⊗ S_c`` with ``a·c = n``: reshaping ``x`` to ``(..., a, c)`` turns it into the two
    small matrix products ``S_a @ X @ S_c``, which is differentiable and runs wherever torch runs.
    Because ``S`` is symmetric, the backward pass is the same transform.

    Args:
        x: ``(..., n)`` floating-point tensor, ``n`` a power of two.
        block_size: ``m``, a power of two dividing ``n``; None means ``m = n``.

    Returns:
        ``(..., n)`` tensor, same dtype and device as ``x``.

    Example:
        >>> fwht(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        tensor([1., 1., 1., 1.])
        >>> fwht(torch.tensor([1.0, 2.0, 3.0, 4.0]), block_size=2)
        tensor([ 3., -1.,  7., -1.])
    """
    if x.ndim == 0:
        raise ShapeError("fwht expects a tensor of shape (..., n), got a 0-d tensor")
    if not x.is_floating_point():
        raise ShapeError(f"fwht expects a floating-point tensor, got dtype {x.dtype}")
    n = x.shape[-1]
    check_hidden_size(n, "the size of the last dimension of x")
    m = check_block_size(n, block_size)
    if m == 1:
        return x.clone()
    k = m.bit_length() - 1
    a = 1 << (k // 2)
    c = m // a
    s_a = _sylvester_factor(a, x.dtype, x.device)
    s_c = _sylvester_factor(c, x.dtype, x.device)
    blocks = x.reshape(*x.shape[:-1], n // m, a, c)
    y = torch.matmul(torch.matmul(s_a, blocks), s_c) if a > 1 else torch.matmul(blocks, s_c)
    return y.reshape(x.shape)


def hadamard_scale(block_size: int) -> float:
    """The normalisation ``1/√m`` that makes ``S_m/√m`` orthogonal."""
    return 1.0 / math.sqrt(block_size)
