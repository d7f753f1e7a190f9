"""Baumert–Hall arrays from T-sequences, filled with Williamson matrices.

**Baumert–Hall units.** Let X_1, …, X_4 be T-matrices of order t (:mod:`theory.base_sequences`)
and a, b, c, d commuting variables. The circulant matrices

    A =  a X_1 + b X_2 + c X_3 + d X_4,     B = −b X_1 + a X_2 + d X_3 − c X_4,
    C = −c X_1 − d X_2 + a X_3 + b X_4,     D = −d X_1 + c X_2 − b X_3 + a X_4

satisfy A Aᵀ + B Bᵀ + C Cᵀ + D Dᵀ = t(a² + b² + c² + d²)·I: the squares give Σ X_k X_kᵀ = t·I, and
every mixed term (a b, a c, …) appears twice with opposite signs. Their Goethals–Seidel array
(:mod:`theory.goethals_seidel`) E is then a Baumert–Hall array of order 4t: every entry is one of
±a, ±b, ±c, ±d and E Eᵀ = t(a² + b² + c² + d²)·I (Cooper and Wallis 1972, Turyn 1974). Write
E = a·E_1 + b·E_2 + c·E_3 + d·E_4 with (0, ±1) matrices E_k, the *units*. Comparing coefficients
of the polynomial identity,

    E_k E_kᵀ = t·I,    E_k E_lᵀ + E_l E_kᵀ = 0 (k ≠ l),

and the supports of E_1, …, E_4 are disjoint and cover every position.

**Filling the array.** If W_1, …, W_4 are ±1 matrices of order w with
W_k W_lᵀ = W_l W_kᵀ for all k, l and Σ W_k W_kᵀ = 4w·I (Williamson-type matrices; Williamson
matrices qualify, being symmetric and commuting), then

    H = E_1 ⊗ W_1 + E_2 ⊗ W_2 + E_3 ⊗ W_3 + E_4 ⊗ W_4

is a Hadamard matrix of order 4tw:
H Hᵀ = Σ_k E_k E_kᵀ ⊗ W_k W_kᵀ + Σ_{k<l} (E_k E_lᵀ + E_l E_kᵀ) ⊗ W_k W_lᵀ = t·I ⊗ 4w·I.
With w = 1 and W_k = [1] this is the Hadamard matrix of order 4t of
:func:`theory.goethals_seidel.t_sequence_hadamard`.
"""

from __future__ import annotations

from functools import cache
from typing import Sequence

from .base_sequences import t_sequences
from .goethals_seidel import goethals_seidel_array
from .matrices import Matrix
from .sequences import circulant, negated
from .williamson import williamson_matrices

Units = tuple[Matrix, Matrix, Matrix, Matrix]


def baumert_hall_units_from_t_sequences(sequences: Sequence[Sequence[int]]) -> Units:
    """E_1 … E_4 of the Baumert–Hall array built from T-sequences T_1 … T_4."""
    x1, x2, x3, x4 = (tuple(seq) for seq in sequences)
    # The coefficient of each variable in (A, B, C, D), read off the formulas above.
    first_rows = (
        (x1, x2, x3, x4),  # a
        (x2, negated(x1), x4, negated(x3)),  # b
        (x3, negated(x4), negated(x1), x2),  # c
        (x4, x3, negated(x2), negated(x1)),  # d
    )
    return tuple(  # type: ignore[return-value]
        goethals_seidel_array(*(circulant(row) for row in rows)) for rows in first_rows
    )


@cache
def baumert_hall_units(t: int) -> Units:
    """The Baumert–Hall units of order 4t from the T-sequences of length t of the tables."""
    return baumert_hall_units_from_t_sequences(t_sequences(t))


def units_defect(units: Sequence[Matrix], t: int) -> str | None:
    """Why ``units`` are not Baumert–Hall units of order 4t, or None (an exact check).

    Rows with entries 0, ±1 are packed into a support mask and a mask of −1 entries; the inner
    product of two rows is then |common support| − 2·|common support where the signs differ|.
    """
    size = 4 * t
    if len(units) != 4 or any(len(unit) != size or len(unit[0]) != size for unit in units):
        return f"expected four {size}×{size} matrices"
    packed = [[_pack(row) for row in unit] for unit in units]
    for i in range(size):
        supports = [packed[k][i][0] for k in range(4)]
        union = supports[0] | supports[1] | supports[2] | supports[3]
        if sum(s.bit_count() for s in supports) != size or union != (1 << size) - 1:
            return f"row {i} is not covered by exactly one unit at every position"
    for k in range(4):
        for l in range(k, 4):
            for i in range(size):
                for j in range(size):
                    product = _inner(packed[k][i], packed[l][j])
                    if k == l:
                        if product != (t if i == j else 0):
                            return f"E_{k + 1} E_{k + 1}ᵀ ≠ {t}·I at ({i}, {j})"
                    elif product + _inner(packed[l][i], packed[k][j]) != 0:
                        return f"E_{k + 1} E_{l + 1}ᵀ + E_{l + 1} E_{k + 1}ᵀ ≠ 0 at ({i}, {j})"
    return None


def _pack(row: Sequence[int]) -> tuple[int, int]:
    support = sum(1 << j for j, x in enumerate(row) if x)
    negative = sum(1 << j for j, x in enumerate(row) if x == -1)
    return support, negative


def _inner(p: tuple[int, int], q: tuple[int, int]) -> int:
    common = p[0] & q[0]
    return common.bit_count() - 2 * (common & (p[1] ^ q[1])).bit_count()


def fill_baumert_hall(units: Sequence[Matrix], matrices: Sequence[Matrix]) -> Matrix:
    """Σ E_k ⊗ W_k, assembled block by block: each position of the array holds ±W_k for one k."""
    w = len(matrices[0])
    negatives = [tuple(negated(row) for row in matrix) for matrix in matrices]
    rows: list[tuple[int, ...]] = []
    for array_row in zip(*units):
        blocks = []
        for entries in zip(*array_row):
            k = next(index for index, x in enumerate(entries) if x)
            blocks.append(matrices[k] if entries[k] == 1 else negatives[k])
        rows.extend(tuple(x for block in blocks for x in block[i]) for i in range(w))
    return tuple(rows)


def baumert_hall_hadamard(t: int, w: int) -> Matrix:
    """The Hadamard matrix of order 4tw: the Baumert–Hall array from T-sequences of length t,
    filled with the Williamson matrices of order w of the table."""
    return fill_baumert_hall(baumert_hall_units(t), williamson_matrices(w))
