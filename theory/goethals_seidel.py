"""The Goethals–Seidel array, and the Hadamard matrices of order 4t it gives from T-sequences.

**The array** (Goethals and Seidel 1970). For n×n matrices A, B, C, D and R the back-identity
(ones on the anti-diagonal), the Goethals–Seidel array is

    [[  A,    B R,    C R,    D R ],
     [ −B R,  A,      Dᵀ R,  −Cᵀ R],
     [ −C R, −Dᵀ R,   A,      Bᵀ R],
     [ −D R,  Cᵀ R,  −Bᵀ R,   A   ]].

If A, B, C, D are circulant with entries ±1 and A Aᵀ + B Bᵀ + C Cᵀ + D Dᵀ = 4n·I, the array is a
Hadamard matrix of order 4n. The proof uses three facts about circulant matrices X, Y: they
commute, X R is symmetric, and R Xᵀ = X R (so (X R)(Y R)ᵀ = X Yᵀ and X R Yᵀ = X Y R); with them the
twelve off-diagonal block products cancel in pairs. The array is also defined for circulant
matrices whose entries are variables, which :mod:`theory.baumert_hall` uses.

**From T-sequences.** If X_1, …, X_4 are T-matrices of order t (circulants of T-sequences, see
:mod:`theory.base_sequences`), the four matrices

    A =  X_1 + X_2 + X_3 + X_4,    B = −X_1 + X_2 + X_3 − X_4,
    C = −X_1 − X_2 + X_3 + X_4,    D = −X_1 + X_2 − X_3 + X_4

are circulant ±1 matrices (the supports are disjoint and cover every position) and, because the
coefficient vectors (1, −1, −1, −1), (1, 1, −1, 1), (1, 1, 1, −1), (1, −1, 1, 1) of X_1 … X_4 are
orthogonal, Σ A Aᵀ = 4·Σ X_k X_kᵀ = 4t·I. So T-sequences of length t give a Hadamard matrix of
order 4t.
"""

from __future__ import annotations

from typing import Sequence

from .base_sequences import t_sequences
from .matrices import ExactMatrix, Matrix, Number
from .sequences import circulant, is_periodically_complementary


def goethals_seidel_array(
    a: Sequence[Sequence[Number]],
    b: Sequence[Sequence[Number]],
    c: Sequence[Sequence[Number]],
    d: Sequence[Sequence[Number]],
) -> ExactMatrix:
    """The Goethals–Seidel array of four n×n matrices (see the module docstring)."""
    n = len(a)
    br, cr, dr = _times_r(b), _times_r(c), _times_r(d)
    btr, ctr, dtr = _times_r(_transpose(b)), _times_r(_transpose(c)), _times_r(_transpose(d))
    block_rows = (
        (a, br, cr, dr),
        (_neg(br), a, dtr, _neg(ctr)),
        (_neg(cr), _neg(dtr), a, btr),
        (_neg(dr), ctr, _neg(btr), a),
    )
    return tuple(
        tuple(x for block in blocks for x in block[i]) for blocks in block_rows for i in range(n)
    )


def goethals_seidel_hadamard(rows: Sequence[Sequence[int]]) -> Matrix:
    """The Goethals–Seidel array of the circulant ±1 matrices with the four given first rows.

    Raises ``ValueError`` unless the rows have one length n and Σ P(s) = 0 at every shift s ≠ 0,
    i.e. unless Σ X Xᵀ = 4n·I for their circulants: then the result is Hadamard of order 4n.
    """
    if len(rows) != 4 or not is_periodically_complementary(rows):
        raise ValueError("the four circulant matrices do not satisfy A Aᵀ + B Bᵀ + C Cᵀ + D Dᵀ = 4n I")
    return goethals_seidel_array(*(circulant(row) for row in rows))  # type: ignore[return-value]


def plus_minus_rows_from_t_sequences(sequences: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """The first rows of A, B, C, D built from T-sequences T_1 … T_4 (see the module docstring)."""
    x1, x2, x3, x4 = sequences
    signs = ((1, 1, 1, 1), (-1, 1, 1, -1), (-1, -1, 1, 1), (-1, 1, -1, 1))
    return tuple(
        tuple(s1 * p + s2 * q + s3 * r + s4 * u for p, q, r, u in zip(x1, x2, x3, x4))
        for s1, s2, s3, s4 in signs
    )


def t_sequence_hadamard(t: int) -> Matrix:
    """The Hadamard matrix of order 4t from the T-sequences of length t of the tables."""
    return goethals_seidel_hadamard(plus_minus_rows_from_t_sequences(t_sequences(t)))


def _times_r(matrix: Sequence[Sequence[Number]]) -> ExactMatrix:
    """X·R: the columns of X in reverse order."""
    return tuple(tuple(reversed(row)) for row in matrix)


def _transpose(matrix: Sequence[Sequence[Number]]) -> ExactMatrix:
    return tuple(zip(*matrix))


def _neg(matrix: Sequence[Sequence[Number]]) -> ExactMatrix:
    return tuple(tuple(-x for x in row) for row in matrix)
