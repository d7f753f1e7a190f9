"""The HadamRNN recurrent matrices, scaled to integers.

- HadamRNN: W(u) = diag(u) S_n / √n. This module returns √n·W(u) = diag(u)·S_n.
- Block-HadamRNN: W(u) = diag(u) (I_q ⊗ S_m) / √m; this module returns √m·W(u).
- The two-sided family diag(u)·S_n·diag(v), which the paper's parametrisation does not use.

Keeping the scale out leaves integer matrices, so every identity about them can be checked
exactly; the scale 1/√n only enters through (1/√n)² = 1/n.
"""

from __future__ import annotations

from itertools import product
from typing import Iterator, Sequence

from .matrices import Matrix, scale_columns, scale_rows
from .sylvester import block_sylvester, sylvester


def sign_vectors(n: int) -> Iterator[tuple[int, ...]]:
    """All 2^n vectors of {+1, −1}^n."""
    return product((1, -1), repeat=n)


def hadamrnn_matrix(u: Sequence[int]) -> Matrix:
    """√n·W(u) = diag(u)·S_n, for a sign vector u of length n = 2^k."""
    return scale_rows(u, sylvester(len(u)))


def block_hadamrnn_matrix(u: Sequence[int], block_size: int) -> Matrix:
    """√m·W(u) = diag(u)·(I_q ⊗ S_m), with m = ``block_size``."""
    return scale_rows(u, block_sylvester(len(u), block_size))


def two_sided_matrix(u: Sequence[int], v: Sequence[int]) -> Matrix:
    """diag(u)·S_n·diag(v)."""
    return scale_columns(scale_rows(u, sylvester(len(u))), v)
