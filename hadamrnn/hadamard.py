"""Sylvester Hadamard matrices and the fast Walsh–Hadamard transform, as torch tensors.

The Sylvester matrix of order ``n = 2^k`` is ``S_1 = [1]``, ``S_{2m} = [[S_m, S_m], [S_m, -S_m]]``,
equivalently ``S[i, j] = (-1)^popcount(i & j)``. It is symmetric and ``S @ S = n I``.

The matrices, the order checks and the scale come from the torch-free :mod:`hadamrnn.core`; this
module turns the matrices into tensors and adds the differentiable float transform :func:`fwht`.
:func:`is_power_of_two`, :func:`check_hidden_size`, :func:`check_block_size` and
:func:`hadamard_scale` are the core's own functions, importable from here too.
"""

from __future__ import annotations

import torch

from . import core
from .core import check_block_size, check_hidden_size, check_sylvester_order, hadamard_scale, is_power_of_two
from .errors import ShapeError

__all__ = [
    "sylvester",
    "block_sylvester",
    "fwht",
    "is_hadamard",
    "is_power_of_two",
    "check_hidden_size",
    "check_block_size",
    "hadamard_scale",
]


def sylvester(n: int, dtype: torch.dtype = torch.int64, device=None) -> torch.Tensor:
    """:func:`hadamrnn.core.matrices.sylvester` as an ``(n, n)`` tensor of ``dtype`` on ``device``:
    ``S[i, j] = (-1)^popcount(i & j)``, ``n`` a power of two (else :class:`HiddenSizeError`).

    Example:
        >>> sylvester(4)
        tensor([[ 1,  1,  1,  1],
                [ 1, -1,  1, -1],
                [ 1,  1, -1, -1],
                [ 1, -1, -1,  1]])
    """
    # int8 on the numpy side: the smallest copy of ±1 entries before the cast.
    return torch.from_numpy(core.sylvester(n, dtype="int8")).to(dtype=dtype, device=device)


def block_sylvester(n: int, block_size: int, dtype: torch.dtype = torch.int64, device=None) -> torch.Tensor:
    """:func:`hadamrnn.core.matrices.block_sylvester` as an ``(n, n)`` tensor: ``I_{n/m} ⊗ S_m``,
    entries in {0, ±1}, for a hidden size ``n`` (else :class:`HiddenSizeError`) and a block size
    ``m`` (else :class:`BlockSizeError`).

    Example:
        >>> block_sylvester(4, 2)
        tensor([[ 1,  1,  0,  0],
                [ 1, -1,  0,  0],
                [ 0,  0,  1,  1],
                [ 0,  0,  1, -1]])
    """
    matrix = core.block_sylvester(check_hidden_size(n, "n"), block_size, dtype="int8")
    return torch.from_numpy(matrix).to(dtype=dtype, device=device)


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
    if torch.compiler.is_compiling():
        # torch.export and torch.compile trace with fake tensors, which must not enter the cache
        # and outlive the trace (torch.jit.trace runs on real tensors and may use it).
        return sylvester(n, dtype=dtype, device=device)
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
    size = x.shape[-1]
    if isinstance(size, torch.Tensor):
        # torch.jit.trace and torch.onnx.export record sizes as tensors: a Python check of their
        # value would freeze it into the graph (or fail), so the static block size is checked instead.
        if block_size is None:
            raise ShapeError(
                "fwht is being traced (torch.jit.trace / torch.onnx.export): pass block_size explicitly, "
                "since the size of the last dimension is a traced tensor, not an int"
            )
        m = check_sylvester_order(block_size, "block_size")
    else:
        n = check_sylvester_order(size, "the size of the last dimension of x")
        m = check_block_size(n, block_size)
    if m == 1:
        return x.clone()
    k = m.bit_length() - 1
    a = 1 << (k // 2)
    c = m // a
    s_a = _sylvester_factor(a, x.dtype, x.device)
    s_c = _sylvester_factor(c, x.dtype, x.device)
    # A traced n is not a Python int: reshape then computes the number of blocks n // m itself.
    blocks = x.reshape(*x.shape[:-1], -1 if isinstance(size, torch.Tensor) else n // m, a, c)
    y = torch.matmul(torch.matmul(s_a, blocks), s_c) if a > 1 else torch.matmul(blocks, s_c)
    return y.reshape(x.shape)

