"""HadamRNN: ``W(u) = diag(u) H_n / √n``, a binary orthogonal matrix.

``H_n`` is the Sylvester ``S_n`` for ``n = 2^k`` and ``H_r ⊗ S_{2^k}`` with a Paley base matrix
``H_r`` for ``n = r · 2^k`` (:func:`hadamrnn.core.matrices.hadamard`). The binary family is the
block family with a single block (``m = n``); this module names it.
"""

from __future__ import annotations

import torch
from torch import nn

from .block_hadamard import BlockHadamard, _register

__all__ = ["BinaryHadamard", "binary_hadamard_"]


class BinaryHadamard(BlockHadamard):
    """Parametrization ``ũ ↦ diag(ste_sign(ũ)) H_n / √n``; entries ``±1/√n``, exactly orthogonal."""

    def __init__(self, n: int, clip: float | None = None):
        super().__init__(n, block_size=None, clip=clip)

    def extra_repr(self) -> str:
        return f"n={self.n}{self.base_repr()}, clip={self.clip}"


def binary_hadamard_(module: nn.Module, name: str = "weight", *, clip: float | None = None) -> nn.Module:
    """Constrain ``module.<name>`` (square, ``n×n``) to HadamRNN matrices; returns ``module``.

    Example:
        >>> layer = binary_hadamard_(torch.nn.Linear(8, 8, bias=False))
        >>> layer.parametrizations.weight.original.shape
        torch.Size([8])
    """
    return _register(module, name, lambda n: BinaryHadamard(n, clip))
