"""Hadamard equivalence: row and column permutations and negations, and normalisation.

Two Hadamard matrices are equivalent if one is P D₁ H D₂ Q of the other, with P, Q permutation
matrices and D₁, D₂ diagonal ±1 matrices. Each operation maps Hadamard matrices to Hadamard
matrices: (P D₁ H D₂ Q)(P D₁ H D₂ Q)ᵀ = P D₁ H Hᵀ D₁ Pᵀ = n I.
"""

from __future__ import annotations

from typing import Sequence

from .matrices import Matrix, scale_columns, scale_rows


def permute_rows(h: Sequence[Sequence[int]], permutation: Sequence[int]) -> Matrix:
    """The matrix whose row i is ``h[permutation[i]]``."""
    _require_permutation(permutation, len(h))
    return tuple(tuple(h[source]) for source in permutation)


def permute_columns(h: Sequence[Sequence[int]], permutation: Sequence[int]) -> Matrix:
    """The matrix whose column j is column ``permutation[j]`` of h."""
    _require_permutation(permutation, len(h[0]) if h else 0)
    return tuple(tuple(row[source] for source in permutation) for row in h)


def negate_rows(h: Sequence[Sequence[int]], signs: Sequence[int]) -> Matrix:
    """``diag(signs) @ h`` for a ±1 vector ``signs``."""
    _require_signs(signs)
    return scale_rows(signs, h)


def negate_columns(h: Sequence[Sequence[int]], signs: Sequence[int]) -> Matrix:
    """``h @ diag(signs)`` for a ±1 vector ``signs``."""
    _require_signs(signs)
    return scale_columns(h, signs)


def normalise(h: Sequence[Sequence[int]]) -> Matrix:
    """The unique matrix D₁ H D₂ whose first row and first column are all +1.

    Columns are multiplied by the first row's signs, then rows by the new first column's signs.
    The pair (D₁, D₂) that does this is unique up to a common sign, which does not change D₁ H D₂.
    """
    by_columns = negate_columns(h, h[0])
    return negate_rows(by_columns, [row[0] for row in by_columns])


def is_normalised(h: Sequence[Sequence[int]]) -> bool:
    """Whether the first row and the first column of h are all +1."""
    return all(x == 1 for x in h[0]) and all(row[0] == 1 for row in h)


def _require_permutation(permutation: Sequence[int], n: int) -> None:
    if sorted(permutation) != list(range(n)):
        raise ValueError(f"expected a permutation of range({n}), got {list(permutation)}")


def _require_signs(signs: Sequence[int]) -> None:
    if any(type(s) is not int or s not in (1, -1) for s in signs):
        raise ValueError(f"expected signs in {{+1, -1}}, got {list(signs)}")
