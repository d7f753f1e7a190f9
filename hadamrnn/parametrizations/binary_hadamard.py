"""HadamRNN: ``W(u) = diag(u) S_n / √n``, a binary orthogonal matrix.

The binary family is the block family with a single block (``m = n``); this module names it.
"""

from __future__ import annotations

import torch
from torch import nn

from .block_hadamard import BlockHadamard, _register

__all__ = ["BinaryHadamard", "binary_hadamard_"]


class BinaryHadamard(BlockHadamard):
    """Parametrization ``ũ ↦ diag(ste_sign(ũ)) S_n / √n``; entries ``±1/√n``, exactly orthogonal."""

    def __init__(self, n: int, clip: float | None = None):
        super().__init__(n, block_size=None, clip=clip)

    def extra_repr(self) -> str:
        return f"n={self.n}, clip={self.clip}"


def binary_hadamard_(module: nn.Module, name: str = "weight", *, clip: float | None = None) -> nn.Module:
    """Constrain ``module.<name>`` (square, ``n×n``) to HadamRNN matrices; returns ``module``.

    Example:
        >>> layer = binary_hadamard_(torch.nn.Linear(8, 8, bias=False))
        >>> layer.parametrizations.weight.original.shape
        torch.Size([8])
    """
    return _register(module, name, lambda n: BinaryHadamard(n, clip))
