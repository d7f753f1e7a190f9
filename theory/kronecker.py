"""The Kronecker product, which builds new Hadamard matrices from old: if A Aᵀ = a I and
B Bᵀ = b I then (A ⊗ B)(A ⊗ B)ᵀ = (A Aᵀ) ⊗ (B Bᵀ) = ab I."""

from __future__ import annotations

from itertools import chain
from typing import Sequence

from .matrices import ExactMatrix, Number


def kronecker(a: Sequence[Sequence[Number]], b: Sequence[Sequence[Number]]) -> ExactMatrix:
    """A ⊗ B: the block matrix whose (i, j) block is a[i][j]·B."""
    # Row (i, k) of A ⊗ B is the concatenation of a[i][j]·b[k] over j. A Hadamard or ternary A
    # has at most three distinct entries, so each scaled row of B is computed once per value.
    # Keys carry the type so that equal values of different types (1 and Fraction(1)) stay apart.
    values = {(type(x), x) for row in a for x in row}
    scaled_rows = [{key: tuple(key[1] * y for y in row_b) for key in values} for row_b in b]
    return tuple(
        tuple(chain.from_iterable(scaled[(type(x), x)] for x in row_a))
        for row_a in a
        for scaled in scaled_rows
    )
