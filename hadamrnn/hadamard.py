"""Hadamard matrices and the fast Hadamard transform, as torch tensors.

The Sylvester matrix of order ``n = 2^k`` is ``S_1 = [1]``, ``S_{2m} = [[S_m, S_m], [S_m, -S_m]]``,
equivalently ``S[i, j] = (-1)^popcount(i & j)``. It is symmetric and ``S @ S = n I``. The other
supported orders ``n = r · 2^k`` (``96 = 12 · 8``, ``384 = 12 · 32``, ...) use
``H_n = H_r ⊗ S_{2^k}`` with a canonical Paley base matrix ``H_r``
(:mod:`hadamrnn.core.base_matrices`); :func:`available_orders` lists them.

The matrices, the order checks and the scale come from the torch-free :mod:`hadamrnn.core`; this
module turns the matrices into tensors and adds the differentiable float transform :func:`fwht`.
:func:`is_power_of_two`, :func:`check_hidden_size`, :func:`check_block_size`,
:func:`available_orders` and :func:`hadamard_scale` are the core's own functions, importable from
here too.
"""

from __future__ import annotations

import torch

from . import core
from .core import (
    available_orders,
    check_block_size,
    check_hidden_size,
    hadamard_scale,
    is_power_of_two,
    split_order,
)
from .errors import ShapeError

__all__ = [
    "sylvester",
    "hadamard",
    "block_sylvester",
    "block_hadamard",
    "fwht",
    "is_hadamard",
    "is_power_of_two",
    "available_orders",
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


def hadamard(n: int, dtype: torch.dtype = torch.int64, device=None) -> torch.Tensor:
    """:func:`hadamrnn.core.matrices.hadamard` as an ``(n, n)`` tensor: ``H_r ⊗ S_{2^k}`` for a
    supported order ``n = r · 2^k`` (else :class:`HiddenSizeError`); ``S_n`` for ``n = 2^k``.

    Example:
        >>> h = hadamard(12)
        >>> torch.equal(h @ h.T, 12 * torch.eye(12, dtype=torch.int64))
        True
    """
    return torch.from_numpy(core.hadamard(n, dtype="int8")).to(dtype=dtype, device=device)


def block_sylvester(n: int, block_size: int, dtype: torch.dtype = torch.int64, device=None) -> torch.Tensor:
    """:func:`hadamrnn.core.matrices.block_sylvester` as an ``(n, n)`` tensor: ``I_{n/m} ⊗ S_m``,
    entries in {0, ±1}, for a hidden size ``n`` (else :class:`HiddenSizeError`) and a power of two
    ``m`` dividing it (else :class:`BlockSizeError`). :func:`block_hadamard` takes every block size.

    Example:
        >>> block_sylvester(4, 2)
        tensor([[ 1,  1,  0,  0],
                [ 1, -1,  0,  0],
                [ 0,  0,  1,  1],
                [ 0,  0,  1, -1]])
    """
    matrix = core.block_sylvester(check_hidden_size(n, "n"), block_size, dtype="int8")
    return torch.from_numpy(matrix).to(dtype=dtype, device=device)


def block_hadamard(n: int, block_size: int | None, dtype: torch.dtype = torch.int64, device=None) -> torch.Tensor:
    """:func:`hadamrnn.core.matrices.block_hadamard` as an ``(n, n)`` tensor: ``I_{n/m} ⊗ H_m``,
    entries in {0, ±1}, for a hidden size ``n`` (else :class:`HiddenSizeError`) and a supported
    order ``m`` dividing it (else :class:`BlockSizeError`); None means ``m = n``.

    Example:
        >>> pattern = block_hadamard(48, 24)  # two blocks H_12 ⊗ S_2
        >>> (pattern != 0).sum(dim=1).unique().tolist()
        [24]
    """
    matrix = core.block_hadamard(check_hidden_size(n, "n"), block_size, dtype="int8")
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


# The factors S_a, S_c of S_{2^j} = S_a ⊗ S_c and the base matrices H_r are small; caching them per
# dtype and device keeps fwht free of allocations in the recurrent loop.
_FACTOR_CACHE: dict[tuple[str, int, torch.dtype, torch.device], torch.Tensor] = {}


def _sylvester_factor(n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if torch.compiler.is_compiling():
        # torch.export and torch.compile trace with fake tensors, which must not enter the cache
        # and outlive the trace (torch.jit.trace runs on real tensors and may use it).
        return sylvester(n, dtype=dtype, device=device)
    key = ("sylvester", n, dtype, device)
    factor = _FACTOR_CACHE.get(key)
    if factor is None:
        factor = sylvester(n, dtype=dtype, device=device)
        _FACTOR_CACHE[key] = factor
    return factor


def _base_factor(r: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if torch.compiler.is_compiling():  # as for the Sylvester factors: no fake tensor in the cache
        return torch.from_numpy(core.base_matrix(r, "int8")).to(dtype=dtype, device=device)
    key = ("base", r, dtype, device)
    factor = _FACTOR_CACHE.get(key)
    if factor is None:
        factor = torch.from_numpy(core.base_matrix(r, "int8")).to(dtype=dtype, device=device)
        _FACTOR_CACHE[key] = factor
    return factor


def fwht(x: torch.Tensor, block_size: int | None = None, *, transpose: bool = False) -> torch.Tensor:
    """Unnormalised fast Hadamard transform of the last dimension, in natural (Sylvester) order.

    Computes ``(I_{n/m} ⊗ H_m) x`` for every vector ``x`` along the last dimension, i.e.
    ``x @ block_hadamard(n, m).T`` (``x @ block_hadamard(n, m)`` with ``transpose=True``); with
    ``block_size=None`` (``m = n``) the full transform. For ``m = 2^j`` this is the Walsh–Hadamard
    transform ``x @ S_m``, and ``transpose`` changes nothing (``S`` is symmetric). For
    ``m = r · 2^j`` each block is viewed as an ``r × 2^j`` array ``X`` and transformed to
    ``H_r X S_{2^j}``: the Sylvester part is split as ``S_{2^j} = S_a ⊗ S_c`` with ``a·c = 2^j``, so
    that reshaping turns it into the two small matrix products ``S_a @ X @ S_c``, and the base part
    is one more small product by ``H_r`` (``H_rᵀ`` with ``transpose``). All of it is
    differentiable and runs wherever torch runs.

    Args:
        x: ``(..., n)`` floating-point tensor, ``n`` a supported order.
        block_size: ``m``, a supported order dividing ``n``; None means ``m = n``.
        transpose: apply ``(I_{n/m} ⊗ H_m)ᵀ`` (the backward of the forward transform).

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
        m, count = block_size, -1  # reshape computes the number of blocks n // m itself
    else:
        n = check_hidden_size(size, "the size of the last dimension of x")
        m = check_block_size(n, block_size)
        count = n // m
    r, sylvester_part = split_order(m, "block_size")
    if m == 1:
        return x.clone()
    blocks = x.reshape(*x.shape[:-1], count, r, sylvester_part)  # one row of X per base index
    if sylvester_part > 1:
        k = sylvester_part.bit_length() - 1
        a = 1 << (k // 2)
        c = sylvester_part // a
        s_a = _sylvester_factor(a, x.dtype, x.device)
        s_c = _sylvester_factor(c, x.dtype, x.device)
        split = blocks.reshape(*blocks.shape[:-1], a, c)
        split = torch.matmul(torch.matmul(s_a, split), s_c) if a > 1 else torch.matmul(split, s_c)
        blocks = split.reshape(blocks.shape)
    if r > 1:
        base = _base_factor(r, x.dtype, x.device)
        blocks = torch.matmul(base.T if transpose else base, blocks)
    return blocks.reshape(x.shape)

